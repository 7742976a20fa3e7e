"""renderer.dsp.peaks and renderer.dsp.svg: the waveform every page draws."""

from __future__ import annotations

import numpy as np

from renderer.dsp.peaks import slice_extremes, slice_peaks
from renderer.dsp.svg import envelope_path


def test_each_slice_reports_its_lowest_and_highest_sample_over_every_channel():
    samples = np.zeros((10, 2), dtype=np.float32)
    samples[1, 1] = -0.5  # slice 0 of 5 (frames 0-1)
    samples[9, 0] = 0.25  # slice 4 (frames 8-9)
    lows, highs = slice_extremes(samples, 5)
    assert lows.tolist() == [-0.5, 0.0, 0.0, 0.0, 0.0]
    assert highs.tolist() == [0.0, 0.0, 0.0, 0.0, 0.25]
    assert slice_peaks(samples, 5).tolist() == [0.5, 0.0, 0.0, 0.0, 0.25]


def test_slices_are_spread_evenly_and_never_outnumber_the_frames():
    ramp = np.arange(10, dtype=np.float32)
    lows, highs = slice_extremes(ramp, 3)  # slices start at frames 0, 3, 6
    assert lows.tolist() == [0.0, 3.0, 6.0] and highs.tolist() == [2.0, 5.0, 9.0]
    assert slice_peaks(ramp[:2], 400).shape == (2,)
    assert slice_peaks(np.zeros((0, 2), np.float32), 400).shape == (0,)


def test_the_envelope_path_runs_along_the_highs_and_back_along_the_lows():
    assert envelope_path([-0.5, -0.25], [0.5, 1.0]) == (
        "M0,1 L0,0.500 L1,0.000 L1,1.250 L0,1.500 Z"
    )
    # Mirrored peaks on a 60-unit viewBox: +1 at the top, -1 at the bottom.
    assert envelope_path([-1.0], [1.0], height=60) == "M0,30 L0,0.000 L0,60.000 Z"
    assert envelope_path([], []) == ""
