"""The SVG path of a waveform: an envelope drawn as one closed shape."""

from __future__ import annotations

from collections.abc import Sequence


def envelope_path(lows: Sequence[float], highs: Sequence[float], *, height: float = 2.0) -> str:
    """A closed SVG path over a viewBox `0 0 N height` (N points): the `highs` envelope left to
    right, then the `lows` back, values in -1..1 with 0 on the middle line and +1 at the top."""
    if not highs:
        return ""
    middle = height / 2
    top = " ".join(f"L{i},{middle - middle * hi:.3f}" for i, hi in enumerate(highs))
    bottom = " ".join(
        f"L{i},{middle - middle * lo:.3f}" for i, lo in reversed(list(enumerate(lows)))
    )
    return f"M0,{middle:g} {top} {bottom} Z"
