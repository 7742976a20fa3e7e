"""renderer.dsp.running: running maxima and minima, and block maxima, against direct loops."""

from __future__ import annotations

import numpy as np
import pytest

from renderer.dsp.running import block_abs_max, centred_max, running_max, running_min


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (40, 17), (7, 200), (500, 3)])
@pytest.mark.parametrize("half", [0, 1, 3, 6, 9])
@pytest.mark.parametrize("axis", [0, 1])
def test_centred_maximum_equals_the_maximum_of_each_clipped_window(shape, half, axis):
    values = np.random.default_rng(sum(shape) + half).standard_normal(shape).astype(np.float32)
    expected = np.empty_like(values)
    length = shape[axis]
    for i in range(length):
        window = slice(max(0, i - half), min(length, i + half + 1))
        if axis == 0:
            expected[i] = values[window].max(axis=0)
        else:
            expected[:, i] = values[:, window].max(axis=1)
    np.testing.assert_array_equal(centred_max(values, half, axis=axis), expected)


@pytest.mark.parametrize("length", [1, 2, 5, 64, 1000])
@pytest.mark.parametrize("width", [1, 2, 3, 8, 13, 96, 2000])
def test_forward_running_minimum_and_maximum_clip_the_window_at_the_end(length, width):
    values = np.random.default_rng(length * width).random(length).astype(np.float32)
    lows = np.array([values[i : i + width].min() for i in range(length)])
    highs = np.array([values[i : i + width].max() for i in range(length)])
    np.testing.assert_array_equal(running_min(values, width), lows)
    np.testing.assert_array_equal(running_max(values, width), highs)


def test_a_window_may_start_before_the_cell():
    values = np.arange(10, dtype=np.float32)[::-1].copy()  # 9, 8, ... 0
    # Windows of 4 cells starting one cell before each: the first cell's window is clipped.
    assert running_max(values, 4, lead=1).tolist() == [9, 9, 8, 7, 6, 5, 4, 3, 2, 1]
    assert running_min(values, 4, lead=1).tolist() == [7, 6, 5, 4, 3, 2, 1, 0, 0, 0]


@pytest.mark.parametrize("frames", [1, 7, 8, 9, 64, 100_003])
@pytest.mark.parametrize("channels", [1, 2, 6])
def test_block_maxima_are_each_blocks_largest_magnitude_the_last_block_partial(frames, channels):
    x = np.random.default_rng(frames + channels).standard_normal((frames, channels))
    x = x.astype(np.float32)
    blocks = -(-frames // 8)
    expected = np.stack([np.abs(x[b * 8 : b * 8 + 8]).max(axis=0) for b in range(blocks)], axis=1)
    np.testing.assert_array_equal(block_abs_max(x, 8), expected)
