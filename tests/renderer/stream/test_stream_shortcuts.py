"""What a worker keeps or skips to render a segment sooner changes no sample: the gained stem
copies kept from segment to segment, and the limiter's frames that need no limiting."""

from __future__ import annotations

import numpy as np
import pytest

from renderer.stems import StemCache
from renderer.stream import StreamSettings, limiting, mixdown
from tests.renderer.stream.vault import render_run, synthetic_vault

__all__ = ["synthetic_vault"]


def test_kept_gained_copies_give_the_samples_of_fresh_ones(synthetic_vault, monkeypatch):
    cache = StemCache()
    monkeypatch.setattr(mixdown.StemSource, "gained", mixdown.ByteBoundedCache(1 << 30))
    kept = render_run(8, vault=synthetic_vault, seed=5, cache=cache)
    assert len(mixdown.StemSource.gained) > 0  # the layers' copies were kept ...
    again = render_run(8, vault=synthetic_vault, seed=5, cache=cache)  # ... and reused here
    # A store that keeps one copy at a time: every other layer is gained afresh or on the fly.
    monkeypatch.setattr(mixdown.StemSource, "gained", mixdown.ByteBoundedCache(1))
    fresh = render_run(8, vault=synthetic_vault, seed=5, cache=cache)
    for a, b, c in zip(kept, again, fresh, strict=True):
        assert np.array_equal(a.samples, b.samples)
        assert np.array_equal(a.samples, c.samples)


def _reference_gain(signal, first, stop, release_db, settings):
    """The release frame by frame, as the module docstring states it: G[i] = min(A[i],
    G[i-1] + R) in dB, from the attack the limiter computes."""
    width = limiting.lookahead_frames(settings)
    ceiling = 10.0 ** ((settings.ceiling_dbtp - limiting.MARGIN_DB) / 20.0)
    peaks = limiting.peak_envelope(signal, 48_000, ceiling, limiting.SEARCH_DB)
    window = peaks[first - width + 1 : stop + width - 1]
    required = np.ones(window.shape[0], dtype=np.float32)
    loud = window > ceiling
    required[loud] = np.float32(ceiling) / window[loud]
    attack = limiting._box_average_backward(limiting.running_min(required, width), width)
    attack = np.minimum(attack[width - 1 :][: stop - first], required[width - 1 :][: stop - first])
    step = settings.limiter_release_db_per_s / 48_000
    level, out = release_db, np.empty(stop - first)
    for i, a in enumerate(20.0 * np.log10(attack.astype(np.float64))):
        level = min(a, level + step, 0.0)
        out[i] = level
    return 10.0 ** (out / 20.0)


@pytest.mark.parametrize("release_db", [0.0, -3.0])
def test_the_limiter_s_quiet_blocks_follow_the_release_rule(release_db):
    settings = StreamSettings()
    rng = np.random.default_rng(7)
    frames, first = 10 * 4800, 4800 - limiting.DELAY
    signal = (rng.standard_normal((frames + 2 * first, 2)) * 0.05).astype(np.float32)
    signal[20000:20300] *= 40  # one burst over the ceiling, in the fourth block
    stop = first + frames
    out, after, reduction = limiting.limit_span(signal, first, stop, 0, release_db, settings)
    gain = _reference_gain(signal, first, stop, release_db, settings)
    expected = signal[first:stop] * gain[:, None].astype(np.float32)
    assert np.allclose(out, expected, rtol=1e-5, atol=1e-9)
    assert reduction > 6.0  # the burst was limited ...
    assert gain[-1] == pytest.approx(10.0 ** (after / 20.0), rel=1e-6)
    quiet = np.flatnonzero(gain == 1.0)
    assert quiet.size >= 2 * 4800  # ... and whole quiet blocks after its release are untouched
    assert np.array_equal(out[quiet], signal[first:stop][quiet])
