"""Listening rules: which reported plays no human listening explains. Pure: numpy arrays in, one
held rule per play out. No Django, no database, no clock; the same arrays always give the same
answer, whatever order the plays arrived in (ties are broken by a rank derived from event ids).

The period close, `verify_period`, the staff's held-plays page and the benchmarks all call
`hold()`; computation.period_compute gathers its inputs. A held play is kept and marked with
the rule that held it; it counts only once staff release it.

The rules (thresholds in `Thresholds`, read from settings by computation.rule_thresholds()):

* ``overlap``: one listener's plays that overlap in time (started_at .. started_at + ms_played)
  by more than a tolerance (a player crossfading or switching tracks overlaps by a second or
  two). One pair of ears hears one play at a time: scanning a listener's plays in start order,
  a play that starts more than the tolerance before the end of the plays kept so far is held;
  the first of two overlapping plays is kept, the later one held.
* ``daily_cap``: plays of one listener of one mix in one UTC day beyond the cap (ranked by
  start time, then event id, after the group's plays counted in earlier periods). A limit
  rather than a suspicion: these plays keep the reason ``over_daily_limit`` and the period's
  ``plays_over_limit`` figure, and are marked held_by="daily_cap" so staff can release them.
* ``volume_spike``: every play of an app on a UTC day when the app's plays that day number more
  than ``spike_factor`` x its baseline: the median of its daily plays over the previous
  ``spike_history_days`` days on which it had plays that were not held, and never less than
  ``spike_floor`` (so a new or small app is judged against a sensible minimum, not against
  nothing). History comes from earlier months' plays too.
* ``lockstep``: a burst is ``lockstep_min_listeners`` or more plays of one app's mix starting
  within ``lockstep_window_ms`` of each other, and at least ``lockstep_factor`` times what that
  app-mix's own average rate of starts predicts for such a window. A listener at least
  ``lockstep_share_pct`` % of whose plays are in bursts is a scripted farm member: all their
  plays are held. Plays are counted, not distinct listeners: one listener starting a mix
  twice within seconds is an overlap anyway.
* ``threshold_hugging``: plays whose listened span stops just after the qualifying threshold
  (within ``hugging_margin_ms`` of it, on mixes long enough to say: longer than threshold +
  margin, so a whole short mix never counts as hugging). A listener with at least
  ``hugging_min_plays`` such-eligible plays of which ``hugging_share_pct`` % or more hug is
  held whole; so are the hugging plays of an app's day when at least ``hugging_app_min_plays``
  eligible plays of that day hug at that share (listener ids rotated to stay under the
  per-listener count: human listeners stop all over a track, a few % near 30 s).

Who is judged, in what order, and what each rule reads (so that no rule reads a result that
depends on its own):

1. A play too short to qualify, or a self-play (the app's owner is credited in the mix), is
   never "held": it cannot earn anyway, and its own reason says why.
2. A play released by staff counts, and no rule holds it.
3. overlap, threshold_hugging and lockstep read the reported plays only, never another rule's
   result: a play held by one of them still occupied the listener's ears and was still part
   of a burst (released plays too: they were reported).
4. volume_spike compares what an app reported for a day (all its qualifying plays, held or
   not: that is the claim) with the history of what was believed (its plays that no rule
   held). A held day therefore never becomes the baseline of the next days, or a farm would
   be held for one day and then be its own history; releasing the plays makes them history.
   Days are judged in order, so this reads only earlier days' results.
5. daily_cap ranks only the plays left: a play held by another rule does not use up a
   listener's daily allowance.

A play held by several rules is marked with the first of PRECEDENCE (the most specific
evidence first); every rule's figure counts the plays it marks.
"""

from __future__ import annotations

import numpy as np

from portal.royalties.rules.inputs import (
    DAY_MS,
    BoolArray,
    CodeArray,
    IntArray,
    Plays,
    Thresholds,
    VolumeHistory,
)
from portal.royalties.rules.patterns import lockstep, threshold_hugging, volume_spike
from portal.royalties.rules.timing import by_listener_then_start, daily_cap, overlapping

__all__ = [
    "DAY_MS",
    "NOT_HELD",
    "PRECEDENCE",
    "RULES",
    "BoolArray",
    "CodeArray",
    "IntArray",
    "Plays",
    "Thresholds",
    "VolumeHistory",
    "code_of",
    "daily_cap",
    "hold",
    "lockstep",
    "overlapping",
    "rule_of",
    "threshold_hugging",
    "volume_spike",
]

# Display order (the brief's and the public page's); a play's code is its index here + 1.
RULES = ("overlap", "daily_cap", "volume_spike", "lockstep", "threshold_hugging")
# Which rule a play held by several carries.
PRECEDENCE = ("overlap", "threshold_hugging", "lockstep", "volume_spike", "daily_cap")
NOT_HELD = 0


def code_of(rule: str) -> int:
    return RULES.index(rule) + 1


def rule_of(code: int) -> str:
    return RULES[code - 1] if code else ""


def hold(plays: Plays, history: VolumeHistory, n_apps: int, th: Thresholds) -> CodeArray:
    """The rule holding each play (its code, see RULES), or NOT_HELD."""
    n = int(plays.listener.shape[0])
    codes = np.zeros(n, dtype=np.int8)
    if n == 0:
        return codes
    judged = plays.candidate & ~plays.released
    day = plays.start_ms // DAY_MS
    # One sort of the qualifying plays by (listener, start), shared by overlap and daily_cap.
    by_listener = by_listener_then_start(plays)
    found: dict[str, BoolArray] = {}
    found["overlap"] = overlapping(by_listener, n, th)
    found["threshold_hugging"] = threshold_hugging(plays, day, n_apps, th)
    found["lockstep"] = lockstep(plays, th)
    held_other = (found["overlap"] | found["threshold_hugging"] | found["lockstep"]) & judged
    found["volume_spike"] = volume_spike(plays, day, judged, held_other, history, n_apps, th)
    left = judged & ~held_other & ~found["volume_spike"]
    found["daily_cap"] = daily_cap(plays, day, left, by_listener, th)
    for rule in PRECEDENCE:
        mark = found[rule] & judged & (codes == NOT_HELD)
        codes[mark] = code_of(rule)
    return codes
