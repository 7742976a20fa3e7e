"""Behaviour of the acoustic fingerprint: robust matching, containment, excerpts, storage."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from renderer.audio import load_audio
from renderer.fingerprint import Fingerprint, FingerprintIndex, Match, fingerprint, matching
from renderer.fingerprint import extraction as fp_module
from tests.factories.audio import lossy_copy

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "cc0-samples"
Array = npt.NDArray[np.float32]

# A handful of varied real recordings, all longer than 5 s so trimming is a real excerpt.
LONG = ["loop_amen_full", "ambi_haunted_hum", "loop_tabla", "ambi_lunar_land", "arovane_beat_d"]
SHORT = ["bd_haus", "sn_dub", "elec_bell", "tabla_na", "hat_cab", "ambi_choir", "guit_e_slide"]
UNRELATED = LONG + SHORT + ["bass_voxy_c", "vinyl_scratch", "perc_bell", "elec_chime"]

corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is absent")


@cache
def clip(name: str) -> tuple[Array, int]:
    audio = load_audio(CORPUS / f"{name}.flac")
    return audio.samples, audio.sample_rate


@cache
def corpus_index() -> FingerprintIndex:
    index = FingerprintIndex()
    for name in UNRELATED:
        index.add(name, fingerprint(*clip(name)))
    return index


def fft_resample(samples: Array, src: int, dst: int) -> Array:
    m = round(samples.shape[0] * dst / src)
    spectrum = np.fft.rfft(samples, axis=0)[: m // 2 + 1]
    return np.asarray(np.fft.irfft(spectrum, n=m, axis=0) * (m / samples.shape[0]), np.float32)


def top_key(index: FingerprintIndex, samples: Array, rate: int) -> str | None:
    matches = index.query(fingerprint(samples, rate))
    return matches[0].key if matches else None


@corpus
@pytest.mark.corpus
@pytest.mark.parametrize("name", LONG[:3] + SHORT[:3])
@pytest.mark.parametrize("codec", [("MP3", None), ("OGG", "VORBIS")])
def test_lossy_round_trip_matches_its_source(name: str, codec: tuple[str, str | None]) -> None:
    samples, rate = clip(name)
    assert top_key(corpus_index(), lossy_copy(samples, rate, *codec), rate) == name


@corpus
@pytest.mark.corpus
@pytest.mark.parametrize("name", LONG[:3] + SHORT[:3])
def test_resampled_to_48k_matches_its_source(name: str) -> None:
    samples, rate = clip(name)
    assert top_key(corpus_index(), fft_resample(samples, rate, 48_000), 48_000) == name


@corpus
@pytest.mark.corpus
@pytest.mark.parametrize("name", LONG[:3] + SHORT[:3])
@pytest.mark.parametrize("db", [-12.0, 12.0])
def test_gain_change_matches_its_source(name: str, db: float) -> None:
    samples, rate = clip(name)
    louder = (samples * np.float32(10 ** (db / 20))).astype(np.float32)
    assert top_key(corpus_index(), louder, rate) == name


@corpus
@pytest.mark.corpus
@pytest.mark.parametrize("name", LONG)
def test_five_second_excerpt_matches_its_source_with_offset(name: str) -> None:
    samples, rate = clip(name)
    start_s = (samples.shape[0] / rate - 5.0) * 0.6
    start = int(start_s * rate)
    matches = corpus_index().query(fingerprint(samples[start : start + 5 * rate], rate))
    assert matches and matches[0].key == name
    assert matches[0].item_offset_s == pytest.approx(start_s, abs=0.1)


@corpus
@pytest.mark.corpus
@pytest.mark.parametrize("name", LONG[:3] + SHORT[:3])
def test_white_noise_at_10_db_snr_still_matches(name: str) -> None:
    samples, rate = clip(name)
    rng = np.random.default_rng(sum(map(ord, name)))
    power = float(np.mean(samples.astype(np.float64) ** 2))
    noisy = samples + rng.standard_normal(samples.shape) * np.sqrt(power / 10)
    assert top_key(corpus_index(), noisy.astype(np.float32), rate) == name


@corpus
@pytest.mark.corpus
def test_unrelated_corpus_files_do_not_match_each_other() -> None:
    index = corpus_index()
    for name in UNRELATED:
        keys = [m.key for m in index.query(fingerprint(*clip(name)), limit=len(UNRELATED))]
        assert keys == [name]


@corpus
@pytest.mark.corpus
@pytest.mark.parametrize(
    ("source", "bed"), [("loop_amen_full", "ambi_haunted_hum"), ("guit_e_slide", "loop_tabla")]
)
def test_stem_layered_under_another_at_equal_level_is_found_with_offset(
    source: str, bed: str
) -> None:
    a, rate = clip(source)
    b, rate_b = clip(bed)
    assert rate == rate_b
    a, b = a.mean(axis=1), b.mean(axis=1)
    b = b * np.float32(np.sqrt(np.mean(a**2) / np.mean(b**2)))  # equal RMS
    start_s = 1.37
    start = int(start_s * rate)
    mix = np.zeros(max(b.shape[0], start + a.shape[0]), np.float32)
    mix[: b.shape[0]] += b
    mix[start : start + a.shape[0]] += a
    found = corpus_index().find_contained(fingerprint(mix[:, None], rate), limit=10)
    hits = [m for m in found if m.key == source]
    assert hits, [m.key for m in found]
    assert hits[0].query_offset_s == pytest.approx(start_s, abs=0.1)
    assert hits[0].item_offset_s == pytest.approx(0.0, abs=0.1)


def synth_mix(seconds: float, seed: int, rate: int = 48_000) -> Array:
    """A 'rendered mix': random notes with harmonics and decays over a noise-hat pattern."""
    rng = np.random.default_rng(seed)
    out = np.zeros(int(seconds * rate), np.float32)
    t = np.arange(int(0.6 * rate)) / rate
    for onset in np.arange(0.0, seconds - 0.6, 0.25):
        f0 = 110.0 * 2 ** (rng.integers(0, 36) / 12)
        note = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 5)) * np.exp(-t * 6)
        at = int((onset + rng.uniform(0, 0.05)) * rate)
        out[at : at + t.shape[0]] += (note * rng.uniform(0.1, 0.3)).astype(np.float32)
    return out[:, None]


def test_excerpt_of_a_long_mix_is_found_with_its_item_offset() -> None:
    index = FingerprintIndex()
    for seed in range(4):
        index.add(f"mix:{seed}", fingerprint(synth_mix(60.0, seed), 48_000))
    mix = synth_mix(60.0, 2)
    start_s = 23.4
    excerpt = mix[int(start_s * 48_000) : int((start_s + 6.0) * 48_000)]
    # The uploader's copy is at 44.1 kHz and 6 dB quieter.
    query = fft_resample(excerpt * np.float32(0.5), 48_000, 44_100)
    matches = index.query(fingerprint(query, 44_100))
    assert [m.key for m in matches] == ["mix:2"]
    assert matches[0].item_offset_s == pytest.approx(start_s, abs=0.1)
    assert matches[0].query_offset_s == pytest.approx(0.0, abs=0.1)
    assert matches[0].coverage > 0.5


def test_silence_and_empty_input_give_empty_fingerprints_that_match_nothing() -> None:
    index = FingerprintIndex()
    index.add("mix:0", fingerprint(synth_mix(10.0, 0), 48_000))
    for samples in (np.zeros((48_000, 2), np.float32), np.zeros((0, 1), np.float32)):
        fp = fingerprint(samples, 48_000)
        assert len(fp) == 0
        assert index.query(fp) == []
        assert index.find_contained(fp) == []


def test_fingerprint_bytes_round_trip() -> None:
    fp = fingerprint(synth_mix(8.0, 1), 48_000)
    assert len(fp) > 100
    back = Fingerprint.from_bytes(fp.to_bytes())
    order_a = np.lexsort((fp.hashes, fp.times))
    order_b = np.lexsort((back.hashes, back.times))
    assert np.array_equal(fp.hashes[order_a], back.hashes[order_b])
    assert np.array_equal(fp.times[order_a], back.times[order_b])
    assert back.duration_s == fp.duration_s
    assert len(fp.to_bytes()) < 8 * len(fp)  # compact: smaller than the raw columns
    with pytest.raises(ValueError):
        Fingerprint.from_bytes(b"XXXX" + fp.to_bytes()[4:])


def test_index_bytes_round_trip_keeps_answers_and_drops_removed_items() -> None:
    index = FingerprintIndex()
    for seed in range(3):
        index.add(f"mix:{seed}", fingerprint(synth_mix(20.0, seed), 48_000))
    index.remove("mix:0")
    assert len(index) == 2
    query = fingerprint(synth_mix(20.0, 1)[48_000 * 5 : 48_000 * 12], 48_000)
    restored = FingerprintIndex.from_bytes(index.to_bytes())
    assert len(restored) == 2
    assert restored.query(query) == index.query(query)
    assert [m.key for m in restored.query(query)] == ["mix:1"]
    removed = fingerprint(synth_mix(20.0, 0), 48_000)
    assert restored.query(removed) == []
    assert index.query(removed) == []


def test_items_added_after_a_query_are_found() -> None:
    index = FingerprintIndex()
    index.add("mix:0", fingerprint(synth_mix(15.0, 0), 48_000))
    late = fingerprint(synth_mix(15.0, 5), 48_000)
    assert index.query(late) == []  # forces the first merge
    index.add("mix:5", late)
    assert [m.key for m in index.query(late)] == ["mix:5"]
    index.add("mix:5", fingerprint(synth_mix(15.0, 6), 48_000))  # re-adding a key replaces it
    assert index.query(late) == []


def random_fingerprint(
    rng: np.random.Generator, seconds: float, per_s: float = 40.0
) -> Fingerprint:
    """Landmark-like hashes at random frames: enough to exercise the index's bookkeeping."""
    n = int(seconds * per_s)
    hashes = rng.integers(0, 1 << 23, n).astype(np.uint32)
    times = np.sort(rng.integers(0, int(seconds / 0.016), n)).astype(np.uint32)
    return Fingerprint(hashes=hashes, times=times, duration_s=seconds)


def excerpt(fp: Fingerprint, start_frame: int, frames: int) -> Fingerprint:
    keep = (fp.times >= start_frame) & (fp.times < start_frame + frames)
    return Fingerprint(
        hashes=fp.hashes[keep],
        times=(fp.times[keep] - start_frame).astype(np.uint32),
        duration_s=frames * 0.016,
    )


def test_items_longer_than_65536_frames_keep_their_offsets() -> None:
    rng = np.random.default_rng(3)
    index = FingerprintIndex()
    index.add("mix:long", random_fingerprint(rng, 1500.0))  # 25 minutes, 93,750 frames
    index.add("mix:short", random_fingerprint(rng, 60.0))
    long_fp = random_fingerprint(np.random.default_rng(3), 1500.0)
    for start_s in (10.0, 1040.0, 1300.0):  # before, across and after the 65,536-frame mark
        start = int(start_s / 0.016)
        matches = index.query(excerpt(long_fp, start, 1000))
        assert [m.key for m in matches] == ["mix:long"]
        assert matches[0].item_offset_s == pytest.approx(start * 0.016, abs=0.05)
    restored = FingerprintIndex.from_bytes(index.to_bytes())
    query = excerpt(long_fp, int(1100 / 0.016), 1000)
    assert restored.query(query) == index.query(query)


def test_main_and_delta_levels_answer_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    import renderer.fingerprint.index as module

    rng = np.random.default_rng(11)
    fps = {f"item:{i}": random_fingerprint(rng, 20.0) for i in range(32)}
    queries = [excerpt(fp, 200, 400) for fp in list(fps.values())[::7]] + [
        excerpt(fps["item:31"], 100, 300)
    ]

    def build(index: FingerprintIndex) -> list[list[Match]]:
        keys = list(fps)
        for key in keys[:30]:
            index.add(key, fps[key])
        index.query(queries[0])  # first merge
        for key in keys[30:]:  # a small batch after it
            index.add(key, fps[key])
        index.remove("item:7")
        return [index.query(q) for q in queries]

    small = build(FingerprintIndex())
    monkeypatch.setattr(module, "DELTA_MAX", 3_000)  # 24k postings: force the compressed level
    leveled_index = FingerprintIndex()
    leveled = build(leveled_index)
    assert leveled_index._main_size > 0 and leveled_index._delta_size > 0
    assert leveled == small
    assert [m[0].key if m else None for m in small] == [
        "item:0",
        None,  # item:7 was removed
        "item:14",
        "item:21",
        "item:28",
        "item:31",
    ]
    restored = FingerprintIndex.from_bytes(leveled_index.to_bytes())
    assert len(restored) == 31
    assert [restored.query(q) for q in queries] == small
    monkeypatch.setattr(module, "DELTA_MAX", 1 << 22)
    assert [FingerprintIndex.from_bytes(restored.to_bytes()).query(q) for q in queries] == small


def test_index_bytes_of_another_version_are_refused_with_a_clear_error() -> None:
    data = bytearray(FingerprintIndex().to_bytes())
    data[4] = 1
    with pytest.raises(ValueError, match="version 1"):
        FingerprintIndex.from_bytes(bytes(data))


def test_query_only_landmarks_are_not_indexed_and_old_fingerprints_are_refused() -> None:
    from renderer.fingerprint import QUERY_ONLY

    fp = fingerprint(synth_mix(8.0, 1), 48_000)
    indexed = int(np.count_nonzero(fp.hashes < np.uint32(QUERY_ONLY)))
    assert 0 < indexed < len(fp)
    index = FingerprintIndex()
    index.add("mix:1", fp)
    assert index.postings == indexed
    data = bytearray(fp.to_bytes())
    data[4] = 1  # version byte
    with pytest.raises(ValueError, match="version 1"):
        Fingerprint.from_bytes(bytes(data))


# --- one-shots that are one decaying tone, and near-duplicates ranked by their best ------------


def _struck_tone(hz: float, decay_s: float, rate: int = 44100, seconds: float = 2.5) -> Array:
    """A struck membrane: a short click, then one tone dying away (a kick, a bayan stroke)."""
    t = np.arange(int(seconds * rate)) / rate
    tone = np.sin(2 * np.pi * hz * t) * np.exp(-t / decay_s)
    click = np.random.default_rng(int(hz * decay_s * 1000)).standard_normal(t.size)
    click *= np.exp(-t / 0.004) * 0.3
    return (0.8 * (tone + click)).astype(np.float32)[:, None]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_decaying_tone_under_10_db_snr_noise_is_told_from_its_siblings(seed: int) -> None:
    # Same pitch, other decays; other pitch, same decay: what a drum kit's one-shots look like.
    sounds = {
        "slow_92": _struck_tone(92.0, 0.60),
        "fast_92": _struck_tone(92.0, 0.12),
        "slow_150": _struck_tone(150.0, 0.60),
        "medium_60": _struck_tone(60.0, 0.35),
    }
    index = FingerprintIndex()
    for key, samples in sounds.items():
        index.add(key, fingerprint(samples, 44100))
    rng = np.random.default_rng(seed)
    for key, samples in sounds.items():
        power = float(np.mean(samples.astype(np.float64) ** 2))
        noisy = samples + rng.standard_normal(samples.shape) * np.sqrt(power / 10)
        matches = index.query(fingerprint(noisy.astype(np.float32), 44100), limit=4)
        assert [m.key for m in matches] == [key], (key, matches)


def test_decay_landmarks_are_indexed_for_one_shots_only_and_apart_from_pair_hashes() -> None:
    one_shot = fingerprint(_struck_tone(92.0, 0.6), 44100)
    indexed = one_shot.hashes[one_shot.hashes < np.uint32(fp_module.QUERY_ONLY)]
    decays = indexed[indexed >= np.uint32(fp_module.DECAY_BASE)]
    pairs = indexed[indexed < np.uint32(fp_module.FORWARD_BASE)]
    forward = indexed[fp_module.is_forward(indexed)]
    assert decays.size >= matching.DECAY_MIN_MATCHED and pairs.size > 0 and forward.size > 0
    assert decays.size + pairs.size + forward.size == indexed.size
    # Every pair hash's anchor field is a real bin; forward landmarks and decay slots fit
    # above them, apart.
    assert int(pairs.max()) >> 14 < fp_module.N_BINS <= fp_module.FORWARD_BASE >> 14
    assert int(forward.max()) < fp_module.DECAY_BASE
    last_slot = (fp_module.HIGH_BIN * len(fp_module.DECAY_DROPS_DB)) * fp_module._DECAY_BUCKETS
    assert fp_module.HASH_SPACE - 1 - last_slot >= fp_module.DECAY_BASE
    assert fp_module.DECAY_BASE >> 14 >= fp_module.HIGH_BIN
    # Longer material (a loop, a stem) carries pair landmarks only.
    long = fingerprint(np.tile(_struck_tone(92.0, 0.6), (3, 1)), 44100)
    assert long.duration_s >= fp_module.PHASES_BELOW_S
    assert not np.any((long.hashes & np.uint32(fp_module.QUERY_ONLY - 1)) >= fp_module.DECAY_BASE)
    assert not np.any(fp_module.is_forward(long.hashes))


def test_a_similar_sound_far_behind_the_best_match_is_not_reported() -> None:
    rng = np.random.default_rng(11)
    rate = 44100
    source = (rng.standard_normal((rate * 8, 1)) * np.linspace(0.1, 0.6, rate * 8)[:, None]).astype(
        np.float32
    )
    # The same first two seconds, then something else: it shares a quarter of the source.
    sibling = source.copy()
    sibling[rate * 2 :] = rng.standard_normal((rate * 6, 1)).astype(np.float32) * 0.3
    index = FingerprintIndex()
    index.add("source", fingerprint(source, rate))
    index.add("sibling", fingerprint(sibling, rate))
    query = fingerprint(source, rate)
    cands = matching.candidates(index, query, dense=False)
    everything = matching.matches(index, query, cands, contained=False, limit=5)
    assert {m.key for m in everything} == {"source", "sibling"}  # both pass the absolute floor
    assert everything[1].score < matching.RELATIVE_SCORE * everything[0].score
    assert [m.key for m in index.query(query)] == ["source"]


# Digest of every corpus file's fingerprint (hashes and anchor frames) as FORMAT_VERSION 4 first
# computed them (version 3's was 1ac619e5...: 4 added forward landmarks and the query's
# half-hop look). Stored indexes hold such fingerprints: a change to extraction that alters a
# single hash must bump FORMAT_VERSION (and rebuild the stored ones, `rebuild_fingerprints`)
# instead of matching against fingerprints computed the old way.
CORPUS_FINGERPRINTS_V4 = "1e1a0105b51a930f4199fd019b2e823eb55f0767094ea9d581446da7f605e7b9"


@pytest.mark.corpus
def test_corpus_fingerprints_are_bit_identical_to_the_stored_version_4_ones(
    corpus_dir: Path,
) -> None:
    assert fp_module.FORMAT_VERSION == 4
    total = hashlib.sha256()
    for path in sorted(corpus_dir.glob("*.flac")):  # 44.1, 96 and 192 kHz; mono and stereo
        audio = load_audio(path)
        fp = fingerprint(audio.samples, audio.sample_rate)
        hashes = np.ascontiguousarray(fp.hashes, "<u4").tobytes()
        times = np.ascontiguousarray(fp.times, "<u4").tobytes()
        total.update(f"{path.stem}:{hashlib.sha256(hashes + times).hexdigest()}\n".encode())
    assert total.hexdigest() == CORPUS_FINGERPRINTS_V4


# --- When a match may refuse an upload (matching.conclusive) ------------------------------------


def test_chance_bound_rises_with_the_shared_hashes_and_the_offsets_they_spread_over() -> None:
    few = matching.chance_bound(0.01, 40)
    many = matching.chance_bound(5.0, 2500)  # a 30 s render sharing ~6000 common hashes
    assert few <= 4
    assert 14 < many < 40  # 12-14 aligned landmarks are what such a pair reaches by chance
    assert matching.chance_bound(5.0, 25_000) > many


def _match(matched: int, shared: int, overlap_s: float, item_s: float) -> Match:
    offsets = (overlap_s + item_s) / fp_module.HOP_S
    return Match(
        key="mix:1",
        score=0.1,
        matched_hashes=matched,
        query_offset_s=0.0,
        item_offset_s=3.0,
        coverage=1.0,
        shared_hashes=shared,
        overlap_s=overlap_s,
        chance_matched=matching.chance_bound(2.0 * shared / offsets, offsets),
    )


def test_a_dozen_aligned_landmarks_among_thousands_shared_are_not_conclusive() -> None:
    # What refused 3 of 125 unrelated originals as platform output: 12-14 landmarks of a 6 s
    # upload on one offset of a 30 s render they share thousands of common hashes with.
    assert not matching.conclusive(_match(14, 4000, 6.0, 30.0))
    # Sibling one-shots (two strokes of one drum) align on that many with little else shared.
    assert not matching.conclusive(_match(14, 17, 0.3, 0.3))
    # A 60 s upload needs more than a 6 s one: the floor rises with the overlap.
    assert not matching.conclusive(_match(60, 100, 60.0, 60.0))
    # Copies: an MP3 round trip of a kick, an excerpt of a render.
    assert matching.conclusive(_match(22, 22, 0.43, 0.43))
    assert matching.conclusive(_match(45, 1421, 7.6, 30.0))


@corpus
@pytest.mark.corpus
def test_matches_carry_what_conclusive_weighs() -> None:
    samples, rate = clip("loop_tabla")
    copy = lossy_copy(samples, rate)
    (found,) = [m for m in corpus_index().query(fingerprint(copy, rate)) if m.key == "loop_tabla"]
    assert found.shared_hashes >= found.matched_hashes > 0
    assert found.overlap_s == pytest.approx(samples.shape[0] / rate, abs=0.1)
    assert 0 < found.chance_matched < found.matched_hashes
    assert matching.conclusive(found)
