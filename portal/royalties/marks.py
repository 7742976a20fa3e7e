"""What the close writes on each play, as one small integer: a play's mark is (qualifies,
reason, held_by), encoded so that a period's marks compare as arrays: counted, too short,
self-play, or held by a rule (MARK_RULE + the rule's code)."""

from __future__ import annotations

from portal.royalties import rules
from portal.royalties.models import PlayReason

MARK_UNKNOWN = -1
MARK_COUNTED = 0
MARK_TOO_SHORT = 1
MARK_SELF_PLAY = 2
MARK_RULE = 10


def mark_fields(mark: int) -> tuple[bool, str, str]:
    if mark == MARK_COUNTED:
        return True, PlayReason.COUNTED, ""
    if mark == MARK_TOO_SHORT:
        return False, PlayReason.TOO_SHORT, ""
    if mark == MARK_SELF_PLAY:
        return False, PlayReason.SELF_PLAY, ""
    rule = rules.rule_of(mark - MARK_RULE)
    if rule == "daily_cap":
        return False, PlayReason.OVER_DAILY_LIMIT, rule
    return False, PlayReason.HELD, rule


_MARKS = {
    mark_fields(mark): mark
    for mark in (
        MARK_COUNTED,
        MARK_TOO_SHORT,
        MARK_SELF_PLAY,
        *(MARK_RULE + rules.code_of(rule) for rule in rules.RULES),
    )
}


def mark_of(qualifies: bool, reason: str, held_by: str) -> int:
    """The mark of stored fields; MARK_UNKNOWN for a combination the close never writes."""
    return _MARKS.get((bool(qualifies), reason or "", held_by or ""), MARK_UNKNOWN)


def mark_text(mark: int) -> str:
    if mark == MARK_UNKNOWN:
        return "an inconsistent mark"
    _, reason, held_by = mark_fields(mark)
    return f"held by {held_by}" if held_by else (reason or "counted")
