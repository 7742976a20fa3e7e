"""renderer.dsp.framing: frame grids on a seconds grid, and the spectra of windowed frames."""

from __future__ import annotations

import numpy as np

from renderer.dsp.framing import frame_starts, spectra


def test_a_fractional_hop_rounds_each_start_and_keeps_frames_inside_the_signal():
    # 16 ms at 44.1 kHz is 705.6 samples: frame k starts at round(k * 705.6).
    starts = frame_starts(10_000, 1764, 705.6)
    assert starts.tolist() == [0, 706, 1411, 2117, 2822, 3528, 4234, 4939, 5645, 6350, 7056, 7762]
    assert int(starts[-1]) + 1764 <= 10_000
    assert frame_starts(1000, 1764, 705.6).size == 0  # shorter than one frame
    assert frame_starts(10_000, 1764, 705.6, count=3).tolist() == [0, 706, 1411]


def test_spectra_are_the_rfft_of_each_windowed_frame_whatever_the_chunk():
    signal = np.random.default_rng(1).standard_normal(20_000).astype(np.float32)
    window = np.hanning(512).astype(np.float32)
    starts = frame_starts(signal.shape[0], 512, 100.5)
    expected = np.fft.rfft(np.stack([signal[s : s + 512] * window for s in starts]), axis=1)
    for chunk in (1, 7, 256, 10_000):
        got = np.concatenate(
            [spectrum for _, spectrum in spectra(signal, window, starts, chunk=chunk)]
        )
        firsts = [first for first, _ in spectra(signal, window, starts, chunk=chunk)]
        assert firsts == list(range(0, starts.shape[0], chunk))
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4)
