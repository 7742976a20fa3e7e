"""One-shots with their start cut off (forward landmarks) and stems mixed in at any sub-frame
delay (the query's half-hop look): renderer.fingerprint, issue #18 item 4."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from renderer.audio import Audio, load_audio
from renderer.fingerprint import FingerprintIndex, Match, conclusive, fingerprint
from renderer.fingerprint.extraction import HOP_S, is_forward
from tests.factories.audio import tone_loop

RATE = 44_100
Array = npt.NDArray[np.float32]


def _bell(seed: int, seconds: float = 1.2) -> Array:
    """A struck bell: a click, then four partials of its own, each dying at its own rate."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    out = np.zeros(t.size)
    for _ in range(4):
        hz = float(rng.uniform(200.0, 3000.0))
        decay = rng.uniform(0.1, 0.5)
        out += rng.uniform(0.3, 1.0) * np.sin(2 * np.pi * hz * t) * np.exp(-t / decay)
    out += rng.standard_normal(t.size) * np.exp(-t / 0.003) * 0.5
    return (0.8 * out / np.max(np.abs(out))).astype(np.float32)[:, None]


# Corpus one-shots of several families; the ones cut below were not found cut before
# forward landmarks (hats, cymbals, a swoosh: noisy sounds whose tails hold no time-local peak).
ONE_SHOTS = (
    "hat_gem",
    "hat_star",
    "hat_noiz",
    "hat_psych",
    "drum_cymbal_open",
    "drum_cymbal_soft",
    "perc_swoosh",
    "glitch_perc4",
    "mehackit_phone2",
    "bd_zome",
    "tabla_ghe4",
    "elec_bell",
)
CUT = [
    ("hat_gem", "attack"),
    ("hat_star", "attack"),
    ("perc_swoosh", "attack"),
    ("mehackit_phone2", "attack"),
    ("drum_cymbal_open", "quarter"),
    ("hat_noiz", "quarter"),
    ("hat_psych", "quarter"),
    ("glitch_perc4", "quarter"),
]


@pytest.fixture
def one_shots(corpus_dir: Path) -> tuple[FingerprintIndex, dict[str, Audio]]:
    sounds = {name: load_audio(corpus_dir / f"{name}.flac") for name in ONE_SHOTS}
    index = FingerprintIndex()
    for name, audio in sounds.items():
        index.add(name, fingerprint(audio.samples, audio.sample_rate))
    return index, sounds


def _without_attack(samples: Array, rate: int) -> Array:
    """From 10 ms after the loudest sample on (bench._evasions.cut_attack)."""
    return samples[int(np.argmax(np.abs(samples).max(axis=1))) + int(0.01 * rate) :]


@pytest.mark.corpus
@pytest.mark.parametrize(("name", "cut"), CUT)
def test_a_one_shot_with_its_start_cut_off_is_found(
    one_shots: tuple[FingerprintIndex, dict[str, Audio]], name: str, cut: str
) -> None:
    index, sounds = one_shots
    audio = sounds[name]
    samples = audio.samples
    trimmed = (
        samples[samples.shape[0] // 4 :]
        if cut == "quarter"
        else _without_attack(samples, audio.sample_rate)
    )
    found = index.query(fingerprint(trimmed, audio.sample_rate))
    assert [m.key for m in found][:1] == [name]


def test_a_forward_match_is_never_conclusive() -> None:
    # A one-shot's tail is a few decaying tones, which a similar sound may share: curators
    # decide, the upload is not refused on it alone.
    strong = Match("stem:1", 1.0, 500, 0.0, 0.25, 1.0, shared_hashes=500, overlap_s=1.0)
    assert conclusive(strong)
    assert not conclusive(dataclasses.replace(strong, via="forward"))


def test_forward_landmarks_of_the_kept_part_survive_a_cut() -> None:
    source = _bell(3)
    lead = source.shape[0] // 4
    frames = lead / RATE / HOP_S
    whole = fingerprint(source, RATE)
    cut = fingerprint(source[lead:], RATE)
    mine = {(int(h), int(t)) for h, t in zip(whole.hashes, whole.times, strict=True)}
    ahead = is_forward(cut.hashes)
    kept = [
        (int(h), round(int(t) + frames))
        for h, t in zip(cut.hashes[ahead], cut.times[ahead], strict=True)
    ]
    near = sum(any((h, t + d) in mine for d in (-1, 0, 1)) for h, t in kept)
    assert ahead.sum() > 0 and near >= 0.5 * len(kept)


@pytest.mark.parametrize("delay_hops", [0.5, 0.25])
def test_a_stem_mixed_in_a_fraction_of_a_hop_late_keeps_its_aligned_landmarks(
    delay_hops: float,
) -> None:
    stems = {f"stem:{seed}": tone_loop(30.0, seed=seed)[:, :1] for seed in range(4)}
    index = FingerprintIndex()
    for key, samples in stems.items():
        index.add(key, fingerprint(samples, RATE))
    others = [tone_loop(31.0, seed=seed)[:, :1] for seed in (20, 21)]

    def rms(x: Array) -> float:
        return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))

    def contained(lead: int) -> list[Match]:
        source = np.concatenate([np.zeros((lead, 1), np.float32), stems["stem:1"]])
        layers = [o[: source.shape[0]] * np.float32(rms(source) / rms(o)) for o in others]
        mix = np.asarray(source + sum(layers), np.float32)
        return index.find_contained(fingerprint(mix, RATE))

    on_grid = contained(0)
    lead = round(delay_hops * HOP_S * RATE)
    late = contained(lead)
    assert [m.key for m in late][:1] == [m.key for m in on_grid][:1] == ["stem:1"]
    assert late[0].query_offset_s == pytest.approx(lead / RATE, abs=0.05)
    # Its peaks' frames round the other way half a hop late: the query's second look keeps
    # the aligned evidence (the index's one phase alone kept 61 of the 72 here at 0.5 hop).
    assert late[0].matched_hashes >= 0.9 * on_grid[0].matched_hashes
