"""Plain words for what counts: the public "How plays count" page, the staff's held-plays page
and statements all describe the rules with this module, and every number in the text comes
from the functions the computation itself reads (computation.rule_thresholds(), services'
late window and clock skew), so the words cannot drift from what the close does."""

from __future__ import annotations

from dataclasses import dataclass

from portal.royalties.allocation import QUALIFYING_MS
from portal.royalties.computation import RULE_SETTINGS, rule_thresholds
from portal.royalties.rules import RULES, Thresholds

LABELS = {
    "overlap": "Overlapping plays",
    "daily_cap": "Over the daily limit",
    "volume_spike": "Volume spike",
    "lockstep": "Lockstep listening",
    "threshold_hugging": "Stopping just after 30 seconds",
}


def label(rule: str) -> str:
    return LABELS.get(rule, rule or "counted")


@dataclass(frozen=True)
class RuleText:
    name: str
    label: str
    text: str
    settings: list[tuple[str, int]]  # (setting, current value) behind the text


def _seconds(ms: int) -> str:
    return f"{ms // 1000} s" if ms % 1000 == 0 else f"{ms / 1000:g} s"


def rule_texts(th: Thresholds | None = None) -> list[RuleText]:
    th = rule_thresholds() if th is None else th
    q = _seconds(th.qualifying_ms)
    texts = {
        "overlap": (
            f"One listener hears one play at a time. When a listener's plays overlap by more "
            f"than {_seconds(th.overlap_tolerance_ms)} (more than a player's crossfade), the "
            "first play counts and the later overlapping ones are held."
        ),
        "daily_cap": (
            f"At most {th.daily_limit} plays of one mix by one listener count per UTC day; "
            "later ones that day are kept but not paid."
        ),
        "volume_spike": (
            f"When an app reports more than {th.spike_factor} times its usual number of plays "
            f"in a UTC day, that day's plays are held. Usual means the median of its days "
            f"with counted plays over the previous {th.spike_history_days} days, and never "
            f"less than {th.spike_floor} plays, so a new app may report up to "
            f"{th.spike_factor * th.spike_floor} plays a day before this applies. Held days "
            "do not become the app's usual."
        ),
        "lockstep": (
            f"When {th.lockstep_min_listeners} or more plays of one app's mix start within "
            f"{_seconds(th.lockstep_window_ms)} of each other, {th.lockstep_factor} times more "
            "than that mix's own pace explains, that is a burst; the plays of listeners "
            f"with {th.lockstep_share_pct}% or more of their plays in bursts are held."
        ),
        "threshold_hugging": (
            f"A listener with at least {th.hugging_min_plays} plays of which "
            f"{th.hugging_share_pct}% or more stop between {q} and "
            f"{_seconds(th.qualifying_ms + th.hugging_margin_ms)} is held; so are those "
            f"plays on an app's day when {th.hugging_share_pct}% of at least "
            f"{th.hugging_app_min_plays} of its plays that day stop there. Mixes shorter "
            f"than {_seconds(th.qualifying_ms + th.hugging_margin_ms)} are left out, so "
            "playing a short mix whole never looks like this."
        ),
    }
    used = {
        "overlap": ("ROYALTIES_OVERLAP_TOLERANCE_S",),
        "daily_cap": (),
        "volume_spike": (
            "ROYALTIES_SPIKE_FACTOR",
            "ROYALTIES_SPIKE_HISTORY_DAYS",
            "ROYALTIES_SPIKE_FLOOR",
        ),
        "lockstep": (
            "ROYALTIES_LOCKSTEP_WINDOW_S",
            "ROYALTIES_LOCKSTEP_MIN_LISTENERS",
            "ROYALTIES_LOCKSTEP_FACTOR",
            "ROYALTIES_LOCKSTEP_SHARE_PCT",
        ),
        "threshold_hugging": (
            "ROYALTIES_HUGGING_MARGIN_S",
            "ROYALTIES_HUGGING_MIN_PLAYS",
            "ROYALTIES_HUGGING_SHARE_PCT",
            "ROYALTIES_HUGGING_APP_MIN_PLAYS",
        ),
    }
    values = {
        setting: _current(th, attribute, unit) for attribute, setting, _, unit in RULE_SETTINGS
    }
    out = []
    for rule in RULES:
        settings = [(name, values[name]) for name in used[rule]]
        if rule == "daily_cap":
            settings = [("ROYALTIES_MAX_PLAYS_PER_LISTENER_PER_MIX_PER_DAY", th.daily_limit)]
        out.append(RuleText(rule, LABELS[rule], texts[rule], settings))
    return out


def _current(th: Thresholds, attribute: str, unit: int) -> int:
    return int(getattr(th, attribute)) // unit


def qualifying_text() -> str:
    return _seconds(QUALIFYING_MS)


@dataclass(frozen=True)
class StreamText:
    """The live player's counting settings, as the page states them. Read from settings (the
    streams domain stands above royalties and is never imported here)."""

    segment_s: int
    daily_cap_h: str
    slack_ms: int
    idle_s: int


def stream_texts() -> StreamText:
    from django.conf import settings

    cap_s = int(getattr(settings, "STREAM_DAILY_CAP_SECONDS", 12 * 3600))
    return StreamText(
        segment_s=int(float(getattr(settings, "STREAM_SEGMENT_SECONDS", 2.0))),
        daily_cap_h=f"{cap_s / 3600:g} hours" if cap_s >= 3600 else f"{cap_s} seconds",
        slack_ms=int(getattr(settings, "STREAM_OVERLAP_SLACK_MS", 500)),
        idle_s=int(getattr(settings, "STREAM_IDLE_SECONDS", 60)),
    )
