"""The shifted-key search (renderer.fingerprint.shifted): a copy sped up, slowed or pitched is
found as a copy of its item, with the change it was found under; a different melody is not."""

from __future__ import annotations

import numpy as np
import pytest

from renderer.fingerprint import Fingerprint, FingerprintIndex, fingerprint
from renderer.fingerprint.shifted import keys
from tests.factories.audio import melody

RATE = 44_100


@pytest.fixture(scope="module")
def index() -> FingerprintIndex:
    built = FingerprintIndex()
    for seed in range(6):
        built.add(f"stem:{seed}", fingerprint(melody(12.0, seed=seed, rate=RATE), RATE))
    return built


@pytest.mark.parametrize(
    ("tempo", "pitch"),
    [
        (1.04, 1.0),  # a time stretch: 4 % faster, same key
        (0.96, 1.0),
        (1.0, 2 ** (2 / 12)),  # a pitch shift: two semitones up, same tempo
        (1.0, 2 ** (-1.5 / 12)),
        (1.05, 1.05),  # a resampling speed change: faster and higher together
    ],
)
def test_a_changed_copy_is_found_under_its_change(
    index: FingerprintIndex, tempo: float, pitch: float
) -> None:
    copy = melody(12.0, seed=3, rate=RATE, tempo=tempo, pitch=pitch)
    found = index.query(fingerprint(copy, RATE))
    assert [m.key for m in found] == ["stem:3"]
    # Reported under the key nearest the change it was made with.
    assert found[0].tempo == pytest.approx(tempo, abs=0.02)
    assert found[0].pitch == pytest.approx(pitch, rel=0.02)


def test_an_unchanged_copy_needs_no_search(index: FingerprintIndex) -> None:
    found = index.query(fingerprint(melody(12.0, seed=2, rate=RATE), RATE))
    assert [(m.key, m.tempo, m.pitch) for m in found] == [("stem:2", 1.0, 1.0)]


def test_other_melodies_changed_or_not_match_nothing(index: FingerprintIndex) -> None:
    for seed, tempo, pitch in [(10, 1.0, 1.0), (11, 1.03, 1.0), (12, 1.0, 2 ** (1 / 12))]:
        other = melody(12.0, seed=seed, rate=RATE, tempo=tempo, pitch=pitch)
        assert index.query(fingerprint(other, RATE)) == []


def test_a_stored_fingerprint_has_no_peaks_and_is_searched_unshifted(
    index: FingerprintIndex,
) -> None:
    fresh = fingerprint(melody(12.0, seed=4, rate=RATE, pitch=2 ** (2 / 12)), RATE)
    stored = Fingerprint.from_bytes(fresh.to_bytes())
    assert fresh.peaks is not None and stored.peaks is None
    assert sorted(stored.hashes.tolist()) == sorted(fresh.hashes.tolist())
    assert index.query(stored) == []
    assert [m.key for m in index.query(fresh)] == ["stem:4"]


def test_the_keys_cover_the_ranges_without_the_unchanged_one() -> None:
    tried = keys()
    assert (1.0, 1.0) not in tried
    tempos = [t for t, p in tried if p == 1.0]
    pitches = [p for t, p in tried if t == 1.0]
    assert min(tempos) <= 0.96 and max(tempos) >= 1.04
    assert min(pitches) <= 2 ** (-1.9 / 12) and max(pitches) >= 2 ** (1.9 / 12)
    # Quarter-semitone steps, the unchanged key (searched first, unshifted) among them.
    assert np.all(np.diff(np.log2(sorted([*pitches, 1.0])) * 12) <= 0.25 + 1e-9)
