"""renderer.clearance: the clip's dense query landmarks, each candidate render offered at more
than one offset, and the ranking that names a render."""

from __future__ import annotations

import itertools

import numpy as np

from renderer.clearance import (
    AMBIGUOUS_OFFSETS,
    CONFIRM_BANDS,
    FALLBACK_DENSITY,
    FALLBACK_FAN_OUT,
    Clip,
    Confirmed,
    band_envelopes,
    candidates,
    clip_candidates,
    confirmed,
    offset_peaks,
    query_fingerprint,
)
from renderer.fingerprint import (
    HOP_S,
    QUERY_ONLY,
    Fingerprint,
    FingerprintIndex,
    Match,
    fingerprint,
)
from tests.factories import audio

RATE = 48000


def _mono(samples: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(samples.mean(axis=1), dtype=np.float32)


def test_a_clip_queries_with_every_landmark_a_render_indexes_and_many_more() -> None:
    music = _mono(audio.role_loop(role="drums", bpm=120.0, bars=4, seed=5))
    clip = Clip(samples=music, sample_rate=RATE, format="WAV")
    query = query_fingerprint(clip)
    plain = fingerprint(music, RATE)

    def indexed(fp: Fingerprint) -> set[tuple[int, int]]:
        hashes, times = fp.hashes, fp.times
        keep = hashes < np.uint32(QUERY_ONLY)
        return set(zip(hashes[keep].tolist(), times[keep].tolist(), strict=True))

    assert indexed(query) == indexed(plain)
    assert len(query) > 2 * len(plain)


def test_a_render_whose_loop_repeats_is_offered_at_as_many_repeats_as_the_votes_leave_open() -> (
    None
):
    # One bar (2 s at 120 bpm) played eight times: its landmarks align equally at the six
    # repeats a 5 s excerpt fits in, so the votes cannot say which one the clip was cut from
    # and the lookup offers AMBIGUOUS_OFFSETS of them (two were offered whatever the votes).
    bar = _mono(audio.role_loop(role="drums", bpm=120.0, bars=1, seed=3))
    render = np.tile(bar, 8)
    index = FingerprintIndex()
    index.add("mix:loop", fingerprint(render, RATE))
    excerpt = render[round(5.0 * RATE) : round(10.0 * RATE)]
    clip = Clip(samples=excerpt, sample_rate=RATE, format="WAV")

    found = [m for m in candidates(index, query_fingerprint(clip)) if m.key == "mix:loop"]

    assert len(found) == AMBIGUOUS_OFFSETS
    starts = sorted(m.item_offset_s - m.query_offset_s for m in found)
    period = bar.shape[0] / RATE
    for a, b in itertools.pairwise(starts):
        gap = (b - a) / period
        assert abs(gap - round(gap)) * period < 2 * HOP_S and round(gap) >= 1


def test_offsets_past_the_second_are_taken_only_while_their_votes_rival_the_best() -> None:
    # Peaks made by hand: votes 100 at frame 0, 90 at 200, 70 at 400, 40 at 600. With a share
    # of 0.6 the third (70) is kept and the fourth (40) is not; at 0.8 only the first two are.
    hashes = np.arange(1, 301, dtype=np.uint32)
    index = FingerprintIndex()
    times = np.concatenate(
        [np.full(100, 10), np.full(90, 210), np.full(70, 410), np.full(40, 610)]
    ).astype(np.uint32)
    item_hashes = np.concatenate([hashes[:100], hashes[:90], hashes[:70], hashes[:40]])
    index.add("mix:votes", Fingerprint(hashes=item_hashes, times=times, duration_s=20.0))
    query = Fingerprint(hashes=hashes[:100], times=np.full(100, 10, np.uint32), duration_s=5.0)

    def offsets(share: float) -> list[int]:
        # An alignment also counts its neighbour frame's votes, so a peak may read a frame early.
        found = offset_peaks(index, query, [0], ambiguous=4, share=share)[0]
        return [round(offset, -1) for offset, _ in found]

    assert offsets(0.6) == [0, 200, 400]
    assert offsets(0.8) == [0, 200]


def _found(key: str, matched: int, similarity: float, start_s: float = 3.0) -> Confirmed:
    match = Match(
        key=key,
        score=0.0,
        matched_hashes=matched,
        query_offset_s=0.0,
        item_offset_s=start_s,
        coverage=0.0,
    )
    return Confirmed(match=match, similarity=similarity, start_s=start_s)


def test_a_render_sharing_the_loudest_stem_is_not_named_over_the_one_whose_landmarks_align() -> (
    None
):
    # The sibling correlates a little better band by band (it shares the clip's loudest stem),
    # but aligns a fifth of the landmarks: the clip's other layers are not in it.
    source = _found("mix:source", matched=100, similarity=0.45)
    sibling = _found("mix:sibling", matched=20, similarity=0.5)

    named = confirmed([sibling, source])

    assert [c.match.key for c in named] == ["mix:source"]


def test_a_render_offered_at_two_offsets_is_named_once_at_the_better() -> None:
    wrong_repeat = _found("mix:1", matched=90, similarity=0.2, start_s=7.0)
    right_repeat = _found("mix:1", matched=80, similarity=0.6, start_s=9.0)

    named = confirmed([wrong_repeat, right_repeat])

    assert [(c.match.key, c.start_s) for c in named] == [("mix:1", 9.0)]


def test_two_renders_that_sound_alike_there_are_both_named() -> None:
    one = _found("mix:1", matched=50, similarity=0.6)
    other = _found("mix:2", matched=50, similarity=0.6)
    assert {c.match.key for c in confirmed([one, other])} == {"mix:1", "mix:2"}


def test_band_envelopes_are_the_log_power_of_the_bins_inside_each_band() -> None:
    signal = _mono(audio.pink_noise(1.0, RATE, seed=2))
    got = band_envelopes(signal, RATE)
    # Reference: frame by frame, each band's bins summed by a mask.
    width = round(0.04 * RATE)
    window = np.hanning(width + 2)[1:-1]
    freqs = np.fft.rfftfreq(width, 1.0 / RATE)
    edges = np.geomspace(100.0, 11_000.0, CONFIRM_BANDS + 1)
    for frame in (0, 10, got.shape[0] - 1):
        start = round(frame * HOP_S * RATE)
        power = np.abs(np.fft.rfft(signal[start : start + width] * window)) ** 2
        want = [
            np.log(power[(freqs >= lo) & (freqs < hi)].sum() + 1e-10)
            for lo, hi in itertools.pairwise(edges)
        ]
        np.testing.assert_allclose(got[frame], want, rtol=1e-4, atol=1e-3)


class _CountingGuard:
    """A stand-in for the portal's index lock that counts how often it is taken."""

    def __init__(self) -> None:
        self.entered = 0

    def __enter__(self) -> None:
        self.entered += 1

    def __exit__(self, *exc: object) -> None:
        return None


def test_a_clip_with_no_candidate_is_looked_up_again_with_denser_landmarks() -> None:
    bar = _mono(audio.role_loop(role="drums", bpm=120.0, bars=4, seed=5))
    clip = Clip(samples=bar[: round(6.0 * RATE)], sample_rate=RATE, format="WAV")
    elsewhere = FingerprintIndex()
    elsewhere.add("mix:other", fingerprint(_mono(audio.pink_noise(20.0, RATE, seed=9)), RATE))
    source = FingerprintIndex()
    source.add("mix:source", fingerprint(bar, RATE))

    missed, found = _CountingGuard(), _CountingGuard()
    assert clip_candidates(elsewhere, clip, missed) == []
    assert {m.key for m in clip_candidates(source, clip, found)} == {"mix:source"}

    assert missed.entered == 2  # the first pass found nothing: the denser one ran too
    assert found.entered == 1


def test_the_denser_pass_queries_every_landmark_of_the_first_and_more() -> None:
    music = _mono(audio.role_loop(role="drums", bpm=120.0, bars=4, seed=5))
    clip = Clip(samples=music, sample_rate=RATE, format="WAV")
    first = query_fingerprint(clip)
    dense = query_fingerprint(clip, density=FALLBACK_DENSITY, fan_out=FALLBACK_FAN_OUT)

    def pairs(fp: Fingerprint) -> set[tuple[int, int]]:
        plain = fp.hashes & np.uint32(QUERY_ONLY - 1)
        return set(zip(plain.tolist(), fp.times.tolist(), strict=True))

    assert pairs(first) < pairs(dense)
