"""When a change is heard: from the first bar line after the segments already rendered (for a
player, delivered), and the state says which bar line that is before the change is made."""

from __future__ import annotations

import numpy as np

from renderer.stems import StemCache
from renderer.stream import Controls, StreamEvent, StreamSettings, first_change_frame
from renderer.stream.limiting import DELAY
from tests.renderer.stream.vault import render_run, synthetic_vault

__all__ = ["synthetic_vault"]

COUNT = 9


def _decisions(segments, before: int) -> set[tuple[str, str, int]]:
    """Every layer entry and exit the carried plans made at mix frames before `before`."""
    made = set()
    for segment in segments:
        for layer in segment.state_after.data["plan"]["layers"]:
            made.add(("enter", layer["stem"], int(layer["start"])))
            if layer["fade_start"] is not None:
                made.add(("leave", layer["stem"], int(layer["fade_start"])))
    return {d for d in made if d[2] < before}


def test_a_change_after_a_segment_is_heard_from_the_first_bar_line_after_it(synthetic_vault):
    settings = StreamSettings()
    cache = StemCache()
    baseline = render_run(COUNT, vault=synthetic_vault, seed=3, cache=cache)
    bar_lines = sorted(b for segment in baseline for b in segment.bar_frames)
    change = Controls(mood="energetic", intensity=0.9)
    for delivered in (1, 3, 5):
        end = baseline[delivered].start_frame + settings.segment_frames
        heard = first_change_frame(baseline[delivered].state_after, end, settings)
        # The next bar line after the delivered audio: no look-ahead bars in between.
        assert heard == min(b for b in bar_lines if b >= end)
        assert heard - end < 4 * 60 / 118 * 48_000 + DELAY  # within one bar (slowest tempo)

        event = StreamEvent(at_frame=end, kind="controls", controls=change)
        changed = render_run(COUNT, vault=synthetic_vault, seed=3, cache=cache, events=[event])
        # What was delivered is untouched, sample for sample ...
        for old, new in zip(baseline[: delivered + 1], changed[: delivered + 1], strict=True):
            assert np.array_equal(old.samples, new.samples)
        # ... the arrangement holds until the bar line the answer names, and changes there.
        mix_heard = heard - DELAY
        assert _decisions(changed, mix_heard) == _decisions(baseline, mix_heard)
        at_bar = _decisions(changed, mix_heard + 1) - _decisions(changed, mix_heard)
        assert at_bar and at_bar != _decisions(baseline, mix_heard + 1) - _decisions(
            baseline, mix_heard
        )
