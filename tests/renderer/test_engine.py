from __future__ import annotations

import io
import shutil
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from renderer import placement as placing
from renderer.audio import Audio, load_audio, pcm_sha256
from renderer.dsp.resample import fft_resample
from renderer.encoding import wav24_bytes
from renderer.engine import mix, render
from renderer.limiter import limit
from renderer.loudness import integrated_loudness, true_peak_dbtp
from renderer.placement import bar_to_frame, plan_placements
from renderer.plan import PlanError, RenderPlan, StemRef, parse_plan
from renderer.stems import StemCache, StemUndecodable, load_stem_file, load_stems, prepare_stem
from tests.conftest import need
from tests.factories.audio import ebur128

SR = 48000
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "cc0-samples"


# --- synthesised stems -------------------------------------------------------------------


def kick(sr: int = SR) -> np.ndarray:
    t = np.arange(int(0.3 * sr)) / sr
    sweep = np.sin(2 * np.pi * np.cumsum(45 + 110 * np.exp(-t * 35)) / sr)
    return (0.9 * sweep * np.exp(-t * 10)).astype(np.float32)[:, None]


def bass(sr: int = SR, seconds: float = 2.0) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    tone = 0.4 * np.sin(2 * np.pi * 55 * t) + 0.15 * np.sin(2 * np.pi * 110 * t + 0.3)
    return np.stack([tone, tone], axis=1).astype(np.float32)


def pad(sr: int = SR, seconds: float = 4.0) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    left = 0.2 * np.sin(2 * np.pi * 220 * t) + 0.1 * np.sin(2 * np.pi * 329.6 * t)
    right = 0.2 * np.sin(2 * np.pi * 277.2 * t) + 0.05 * np.sin(2 * np.pi * 440 * t)
    return np.stack([left, right], axis=1).astype(np.float32)


@pytest.fixture(scope="module")
def stem_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("stems")
    sf.write(folder / "kick.wav", kick(), SR, subtype="PCM_24")
    # The bass is a 44.1 kHz, 116 bpm loop of 4 beats: it needs resampling and tempo conform.
    sf.write(folder / "bass.flac", bass(44100, 4 * 60 / 116), 44100, subtype="PCM_24")
    sf.write(folder / "pad.flac", pad(), SR, subtype="PCM_24")
    return folder


def song_plan(folder: Path, **overrides: Any) -> RenderPlan:
    data: dict[str, Any] = {
        "schema": "stemvault.render-plan/1",
        "tempo_bpm": 120,
        "duration_s": 24,
        "stems": [
            {"id": "kick", "path": str(folder / "kick.wav")},
            {"id": "bass", "path": str(folder / "bass.flac"), "bpm": 116},
            {"id": "pad", "path": str(folder / "pad.flac")},
        ],
        "sections": [
            {
                "name": "intro",
                "start_bar": 0,
                "bars": 4,
                "layers": [{"stem": "pad", "repeats": 2, "fade_in_s": 2, "fade_out_s": 1}],
            },
            {
                "name": "main",
                "start_bar": 4,
                "bars": 8,
                "layers": [
                    {"stem": "kick", "repeats": 32, "period_beats": 1},
                    {"stem": "bass", "repeats": 8, "gain_db": -2, "fade_in_s": 1},
                    {"stem": "pad", "repeats": 4, "gain_db": -8},
                ],
            },
        ],
    }
    data.update(overrides)
    return parse_plan(data)


def decode(result_audio: bytes) -> Audio:
    return load_audio(result_audio)


# --- placement -----------------------------------------------------------------------------


def click_plan(tempo: float, section_bar: int, layer_bar: float) -> RenderPlan:
    return parse_plan(
        {
            "schema": "stemvault.render-plan/1",
            "tempo_bpm": tempo,
            "duration_s": 30,
            "stems": [{"id": "click", "path": "click.wav"}],
            "sections": [
                {
                    "name": "main",
                    "start_bar": section_bar,
                    "bars": 4,
                    "layers": [{"stem": "click", "start_bar": layer_bar}],
                }
            ],
        }
    )


@pytest.mark.parametrize(
    ("tempo", "section_bar", "layer_bar"), [(120, 3, 0), (120, 0, 3), (97, 2, 1.25)]
)
def test_single_click_lands_on_the_exact_bar_frame(
    tempo: float, section_bar: int, layer_bar: float
) -> None:
    plan = click_plan(tempo, section_bar, layer_bar)
    click = np.zeros((100, 1), dtype=np.float32)
    click[0] = 1.0
    placements = plan_placements(plan, {"click": 100})
    out = mix(placements, {"click": click}, plan.frames, 2)
    expected = round((section_bar + layer_bar) * 4 * 60 / tempo * SR)
    assert np.flatnonzero(out[:, 0]).tolist() == [expected]
    assert np.flatnonzero(out[:, 1]).tolist() == [expected]
    assert bar_to_frame(section_bar + layer_bar, tempo, SR) == expected


def test_click_at_bar_3_at_120_bpm_is_frame_288000() -> None:
    assert bar_to_frame(3, 120, 48000) == round(3 * 4 * 0.5 * 48000) == 288000


def test_repeats_follow_the_beat_grid_and_stop_at_the_section_end() -> None:
    plan = parse_plan(
        {
            "schema": "stemvault.render-plan/1",
            "tempo_bpm": 100,
            "duration_s": 20,
            "stems": [{"id": "click", "path": "click.wav"}],
            "sections": [
                {
                    "name": "main",
                    "start_bar": 1,
                    "bars": 2,
                    "layers": [{"stem": "click", "repeats": 20, "period_beats": 1}],
                }
            ],
        }
    )
    click = np.zeros((10, 1), dtype=np.float32)
    click[0] = 1.0
    out = mix(plan_placements(plan, {"click": 10}), {"click": click}, plan.frames, 2)
    hits = np.flatnonzero(out[:, 0]).tolist()
    assert hits == [round((4 + beat) * 0.6 * SR) for beat in range(8)]  # 2 bars = 8 beats


def test_crossfade_between_sections_is_equal_power() -> None:
    plan = parse_plan(
        {
            "schema": "stemvault.render-plan/1",
            "tempo_bpm": 120,
            "duration_s": 8,
            "stems": [{"id": "a", "path": "a.wav"}, {"id": "b", "path": "b.wav"}],
            "sections": [
                {
                    "name": "intro",
                    "start_bar": 0,
                    "bars": 2,
                    "layers": [{"stem": "a", "repeats": 4, "fade_out_s": 1}],
                },
                {
                    "name": "main",
                    "start_bar": 2,
                    "bars": 2,
                    "layers": [{"stem": "b", "repeats": 4, "fade_in_s": 1}],
                },
            ],
        }
    )
    dc = np.ones((2 * SR, 1), dtype=np.float32)
    out_a, in_b = plan_placements(plan, {"a": 2 * SR, "b": 2 * SR})
    assert (out_a.fade_out_shape, in_b.fade_in_shape) == ("equal_power", "equal_power")
    assert out_a.end_frame == 5 * SR  # plays 1 s into the next section while fading out
    gain_a = mix([out_a], {"a": dc}, plan.frames, 1)[:, 0]
    gain_b = mix([in_b], {"b": dc}, plan.frames, 1)[:, 0]
    overlap = slice(4 * SR, 5 * SR)
    np.testing.assert_allclose(gain_a[overlap] ** 2 + gain_b[overlap] ** 2, 1.0, atol=1e-5)
    assert gain_a[4 * SR] > 0.99 and gain_a[5 * SR - 1] < 0.01
    assert np.all(gain_a[: 4 * SR] == 1.0)  # no fade before the boundary


def test_fade_in_without_a_neighbour_section_is_linear() -> None:
    plan = parse_plan(
        {
            "schema": "stemvault.render-plan/1",
            "tempo_bpm": 120,
            "duration_s": 4,
            "stems": [{"id": "a", "path": "a.wav"}],
            "sections": [
                {
                    "name": "intro",
                    "start_bar": 0,
                    "bars": 2,
                    "layers": [{"stem": "a", "fade_in_s": 1}],
                }
            ],
        }
    )
    dc = np.ones((4 * SR, 1), dtype=np.float32)
    (placement,) = plan_placements(plan, {"a": 4 * SR})
    assert placement.fade_in_shape == "linear"
    gain = mix([placement], {"a": dc}, plan.frames, 1)[:, 0]
    assert abs(gain[SR // 2] - 0.5) < 1e-4 and abs(gain[SR // 4] - 0.25) < 1e-4


@pytest.mark.parametrize("seconds", [40, 8])
def test_long_and_short_stems_sum_to_the_same_bits_as_the_plain_formula(seconds: int) -> None:
    # Two layers overlapping, one at -6 dB with fades at both ends. 40 s of stereo float32 is
    # past the size where the mixer stops making a gained copy of a stem (it gains a long one
    # through its scratch blocks instead); 8 s is well under it. Either way, and on any number
    # of threads, the output must be exactly stem x gain x fade, summed in placement order.
    plan = parse_plan(
        {
            "schema": "stemvault.render-plan/1",
            "tempo_bpm": 120,
            "duration_s": 48,
            "stems": [{"id": "a", "path": "a.wav"}, {"id": "b", "path": "b.wav"}],
            "sections": [
                {
                    "name": "main",
                    "start_bar": 0,
                    "bars": 24,
                    "layers": [
                        {"stem": "a", "gain_db": -6.0, "fade_in_s": 3, "fade_out_s": 5},
                        {"stem": "b", "start_bar": 2, "gain_db": 0.0, "fade_out_s": 1},
                    ],
                }
            ],
        }
    )
    rng = np.random.default_rng(5)
    stems = {
        "a": rng.uniform(-0.5, 0.5, size=(seconds * SR, 2)).astype(np.float32),
        "b": rng.uniform(-0.5, 0.5, size=(seconds * SR, 1)).astype(np.float32),
    }
    placements = plan_placements(plan, {k: v.shape[0] for k, v in stems.items()})
    blockwise = mix(placements, stems, plan.frames, 2)
    for workers in (2, 3, 7):  # see also test_threads_mixing_spans_of_the_output_...
        assert np.array_equal(mix(placements, stems, plan.frames, 2, workers=workers), blockwise)
    # And both are the plain formula: stem x gain x fade, summed.
    a, b = placements
    gain_a = np.float32(10 ** (-6 / 20))
    expected = np.zeros((plan.frames, 2), dtype=np.float32)
    env = placing._envelope(a, a.start_frame, a.end_frame)
    assert env is not None and env[0] < 0.01 and env[-1] < 0.01
    span = slice(a.start_frame, a.end_frame)
    expected[span] += (stems["a"][: a.end_frame - a.start_frame] * gain_a) * env[:, None].astype(
        np.float32
    )
    env_b = placing._envelope(b, b.start_frame, b.end_frame)
    assert env_b is not None
    expected[b.start_frame : b.end_frame] += stems["b"][: b.end_frame - b.start_frame] * env_b[
        :, None
    ].astype(np.float32)
    assert np.array_equal(blockwise, expected)


def test_threads_mixing_spans_of_the_output_give_the_same_bits_as_one() -> None:
    # Two sections handing over with equal-power crossfades; a short loop repeated throughout
    # (gained once, reused per repeat), a long stereo stem and a mono one (gained through
    # scratch blocks, the mono one broadcast). Thread spans cut through fades and repeats.
    layers = [
        {"stem": "loop", "repeats": 64, "gain_db": -3.0, "fade_in_s": 1.5, "fade_out_s": 2.5},
        {"stem": "long", "gain_db": -6.0, "fade_out_s": 3.0},
        {"stem": "mono", "gain_db": 2.0, "fade_in_s": 0.7},
    ]
    plan = parse_plan(
        {
            "schema": "stemvault.render-plan/1",
            "tempo_bpm": 120,
            "duration_s": 60,
            "stems": [
                {"id": "loop", "path": "loop.wav", "bpm": 120},
                {"id": "long", "path": "long.wav"},
                {"id": "mono", "path": "mono.wav"},
            ],
            "sections": [
                {"name": "a", "start_bar": 0, "bars": 14, "layers": layers},
                {"name": "b", "start_bar": 14, "bars": 16, "layers": layers},
            ],
        }
    )
    rng = np.random.default_rng(9)
    stems = {
        "loop": rng.uniform(-0.5, 0.5, size=(SR, 2)).astype(np.float32),  # 2 beats
        "long": rng.uniform(-0.5, 0.5, size=(40 * SR, 2)).astype(np.float32),
        "mono": rng.uniform(-0.5, 0.5, size=(30 * SR, 1)).astype(np.float32),
    }
    placements = plan_placements(plan, {k: v.shape[0] for k, v in stems.items()})
    assert any(p.fade_out_shape == "equal_power" for p in placements)
    one = mix(placements, stems, plan.frames, 2)
    cut_fade = cut_repeat = False
    for workers in range(2, 10):
        edges = [plan.frames * k // workers for k in range(1, workers)]
        for p in placements:
            fades = [
                (p.start_frame, p.start_frame + p.fade_in_frames),
                (p.fade_out_start, p.fade_out_start + p.fade_out_frames),
            ]
            cut_fade |= any(a < e < b for e in edges for a, b in fades)
            cut_repeat |= p.repeats > 1 and any(
                (e - p.start_frame) % p.period_frames != 0 and p.start_frame < e < p.end_frame
                for e in edges
            )
        assert np.array_equal(mix(placements, stems, plan.frames, 2, workers=workers), one)
    assert cut_fade and cut_repeat


# --- stems: resampling, tempo, cache -------------------------------------------------------


def test_resampling_keeps_a_sine_clean() -> None:
    t = np.arange(44100) / 44100
    sine = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)[:, None]
    out = fft_resample(sine, 48000)
    assert out.shape == (48000, 1) and out.dtype == np.float32
    ideal = 0.5 * np.sin(2 * np.pi * 1000 * np.arange(48000) / 48000)
    interior = slice(2000, 46000)
    error = out[interior, 0] - ideal[interior]
    assert 20 * np.log10(np.sqrt(np.mean(error**2)) / 0.5) < -60


def test_loop_is_conformed_to_exactly_its_beats_at_the_plan_tempo() -> None:
    plan = parse_plan(
        {
            "schema": "stemvault.render-plan/1",
            "tempo_bpm": 120,
            "duration_s": 10,
            "stems": [{"id": "loop", "path": "loop.wav", "bpm": 116}],
            "sections": [{"name": "main", "start_bar": 0, "bars": 4, "layers": [{"stem": "loop"}]}],
        }
    )
    loop = bass(44100, 4 * 60 / 116)
    prepared = prepare_stem(Audio(loop, 44100), plan.stem("loop"), plan)
    assert prepared.shape == (round(4 * 0.5 * SR), 2)
    # Same stem at the plan's own tempo and rate: left untouched.
    same = prepare_stem(Audio(pad(), SR), StemRef(id="loop", path="x"), plan)
    assert np.array_equal(same, pad())


def test_each_distinct_stem_is_decoded_once_and_kept_across_jobs(stem_dir: Path) -> None:
    calls: list[str] = []

    def loader(ref: StemRef) -> Audio:
        calls.append(ref.id)
        assert ref.path is not None
        return load_audio(ref.path)

    cache = StemCache(max_bytes=64 * 1024 * 1024)
    plan = song_plan(stem_dir, duration_s=12)
    first = render(plan, load=loader, cache=cache)
    assert sorted(calls) == ["bass", "kick", "pad"]  # pad is used twice, decoded once
    second = render(plan, load=loader, cache=cache)
    assert len(calls) == 3 and cache.hits >= 3
    assert first.audio == second.audio


def test_threads_decoding_the_stems_do_not_change_a_single_byte(stem_dir: Path) -> None:
    plan = song_plan(stem_dir, duration_s=12)
    fetched: list[str] = []

    def loader(ref: StemRef) -> bytes:  # encoded bytes: the engine decodes them on its pool
        fetched.append(ref.id)
        assert ref.path is not None
        return Path(ref.path).read_bytes()

    one = render(plan, workers=1)
    three = render(plan, load=loader, workers=3)
    assert sorted(fetched) == ["bass", "kick", "pad"]
    assert three.audio == one.audio and three.attribution == one.attribution


def test_bytes_that_are_not_audio_name_the_stem(stem_dir: Path) -> None:
    plan = song_plan(stem_dir, duration_s=12)
    with pytest.raises(StemUndecodable) as caught:
        render(plan, load=lambda ref: b"RIFF....WAVEnot audio at all", workers=2)
    assert caught.value.stem_id in {"bass", "kick", "pad"}
    assert "not decodable audio" in caught.value.message


@pytest.mark.parametrize(("channels", "frames"), [(1, 4801), (2, 48000), (6, 333)])
def test_wav24_writer_round_trips_through_libsndfile(channels: int, frames: int) -> None:
    rng = np.random.default_rng(channels)
    pcm = rng.integers(-(2**23), 2**23, size=(frames, channels), dtype=np.int64).astype(np.int32)
    pcm[0] = 2**23 - 1  # both extremes survive the packing
    pcm[1] = -(2**23)
    data = wav24_bytes(pcm, 44100)
    info = sf.info(io.BytesIO(data))
    container = "WAV" if channels <= 2 else "WAVEX"  # WAVE_FORMAT_EXTENSIBLE past stereo
    assert (info.format, info.subtype, info.samplerate) == (container, "PCM_24", 44100)
    assert (info.channels, info.frames) == (channels, frames)
    with sf.SoundFile(io.BytesIO(data)) as handle:
        decoded = handle.read(dtype="int32", always_2d=True)
    assert np.array_equal(decoded >> 8, pcm)  # libsndfile returns 24-bit values in the top bits
    assert len(data) % 2 == 0  # RIFF chunks are padded to even sizes


def test_stem_cache_evicts_least_recently_used_by_bytes() -> None:
    cache = StemCache(max_bytes=3 * 4000)
    for name in "abc":
        cache.put((name,), np.zeros((1000, 1), dtype=np.float32))
    assert cache.get(("a",)) is not None  # a is now the most recent
    cache.put(("d",), np.zeros((1000, 1), dtype=np.float32))
    assert cache.get(("b",)) is None
    assert cache.get(("a",)) is not None and cache.get(("d",)) is not None
    assert cache.bytes <= cache.max_bytes


# --- loudness, peaks, determinism ----------------------------------------------------------


@pytest.fixture(scope="module")
def song(stem_dir: Path) -> tuple[RenderPlan, Any]:
    plan = song_plan(stem_dir)
    return plan, render(plan)


def test_rendering_twice_gives_identical_bytes_and_hash(stem_dir: Path, song: Any) -> None:
    _plan, first = song
    again = render(song_plan(stem_dir))
    assert again.audio == first.audio
    assert again.audio_sha256 == first.audio_sha256
    assert pcm_sha256(decode(first.audio)) == first.audio_sha256


def test_flac_output_decodes_to_the_same_pcm_as_wav(stem_dir: Path, song: Any) -> None:
    _, wav = song
    flac = render(song_plan(stem_dir, format="flac"))
    assert flac.audio[:4] == b"fLaC" and wav.audio[:4] == b"RIFF"
    assert flac.audio_sha256 == wav.audio_sha256
    decoded = decode(flac.audio)
    assert decoded.subtype == "PCM_24" and decoded.sample_rate == SR
    assert np.array_equal(decoded.samples, flac.samples)


@pytest.mark.parametrize("target", [-14.0, -20.0])
def test_integrated_loudness_is_within_a_tenth_of_target(stem_dir: Path, target: float) -> None:
    result = render(song_plan(stem_dir, loudness_lufs=target, duration_s=16))
    measured = integrated_loudness(decode(result.audio).samples, SR)
    assert abs(measured - target) <= 0.1
    assert abs(result.loudness_lufs - measured) < 0.01


@pytest.mark.parametrize("ceiling", [-1.0, -3.0])
def test_true_peak_stays_at_or_under_the_ceiling(stem_dir: Path, ceiling: float) -> None:
    # -9 LUFS forces hard limiting of the kick transients.
    result = render(song_plan(stem_dir, loudness_lufs=-9, true_peak_dbtp=ceiling, duration_s=16))
    decoded = decode(result.audio).samples
    assert true_peak_dbtp(decoded, SR) <= ceiling
    assert result.stats["limiter_reduction_db"] > 0.5  # the limiter really had work to do
    assert abs(integrated_loudness(decoded, SR) - (-9)) <= 0.1


def test_ffmpeg_ebur128_agrees_on_loudness_and_true_peak(song: Any, tmp_path: Path) -> None:
    need(shutil.which("ffmpeg") is not None, "ffmpeg is not installed (apt-get install ffmpeg)")
    plan, result = song
    path = tmp_path / "song.wav"
    path.write_bytes(result.audio)
    integrated, peak = ebur128(path)
    # ffmpeg prints one decimal, so a reading of target +- 0.1 is the finest it can confirm.
    assert abs(integrated - plan.loudness_lufs) <= 0.1
    assert peak <= plan.true_peak_dbtp + 0.05


# --- attribution ---------------------------------------------------------------------------


def test_attribution_shares_sum_to_one_and_follow_who_plays(song: Any) -> None:
    _plan, result = song
    seconds = result.attribution["seconds"]
    assert result.attribution["resolution_s"] == 1
    assert [s["t"] for s in seconds] == list(range(24))
    for second in seconds:
        shares = second["shares"]
        assert shares, f"second {second['t']} is not silent but has no shares"
        assert abs(sum(shares.values()) - 1.0) <= 1e-6
        assert all(0.0 < v <= 1.0 and round(v, 6) == v for v in shares.values())
    # Intro (0-8 s; the pad's crossfade tail runs to 9 s): the pad plays alone.
    for t in range(8):
        assert seconds[t]["shares"] == {"pad": 1.0}
    # Main: kick, bass and pad all play.
    assert set(seconds[12]["shares"]) == {"kick", "bass", "pad"}


def test_silent_seconds_and_silent_stems_get_no_share(stem_dir: Path) -> None:
    plan = parse_plan(
        {
            "schema": "stemvault.render-plan/1",
            "tempo_bpm": 120,
            "duration_s": 10,
            "stems": [
                {"id": "kick", "path": str(stem_dir / "kick.wav")},
                {"id": "pad", "path": str(stem_dir / "pad.flac")},
            ],
            "sections": [
                {
                    "name": "a",
                    "start_bar": 0,
                    "bars": 2,
                    "layers": [{"stem": "pad"}, {"stem": "kick", "start_bar": 1}],
                },
            ],
        }
    )
    result = render(plan)
    seconds = result.attribution["seconds"]
    assert seconds[0]["shares"] == {"pad": 1.0}  # the kick has not started yet
    assert set(seconds[2]["shares"]) == {"kick", "pad"}  # the kick hits at 2.0 s
    assert seconds[3]["shares"] == {"pad": 1.0}
    assert [s["shares"] for s in seconds[4:]] == [{}] * 6  # pad ended at 4 s: silence


# --- limiter -------------------------------------------------------------------------------


def test_limiter_catches_inter_sample_peaks() -> None:
    # A quarter-rate sine at 45 degrees: every sample sits 3 dB under the waveform's peak.
    n = SR * 2
    x = np.sin(2 * np.pi * 0.25 * np.arange(n) + np.pi / 4).astype(np.float32)
    x = np.stack([x, x], axis=1) * np.float32(0.95 / np.sqrt(0.5))  # true peak 0.95 / 0.707
    assert true_peak_dbtp(x, SR) > 2.0
    limited, stats = limit(x, SR, -1.0)
    assert true_peak_dbtp(limited, SR) <= -0.9
    assert stats.max_reduction_db > 3.0


def test_limiter_leaves_audio_under_the_ceiling_untouched() -> None:
    x = pad() * np.float32(0.5)
    limited, stats = limit(x, SR, -1.0)
    assert np.array_equal(limited, x)
    assert stats.limited_frames == 0


def test_limiter_gain_recovers_after_a_peak() -> None:
    x = np.full((SR, 1), 0.3, dtype=np.float32)
    x[SR // 4] = 1.0  # one spike
    limited, _ = limit(x, SR, -6.0, release_db_per_s=60.0)
    gain = limited[:, 0] / x[:, 0]
    assert gain[SR // 4] * 1.0 <= 10 ** (-6 / 20) + 1e-6
    assert gain[SR // 4 - 200] == 1.0  # look-ahead only starts ~2 ms before the spike
    assert np.all(np.diff(gain[SR // 4 : SR // 4 + 200]) >= -1e-7)  # release rises smoothly
    assert gain[-1] == 1.0  # fully recovered well within a second


def test_progress_reports_run_from_0_to_100(stem_dir: Path) -> None:
    seen: list[int] = []
    render(song_plan(stem_dir, duration_s=10), progress=seen.append)
    assert seen[0] == 0 and seen[-1] == 100 and seen == sorted(seen)


# --- real recordings -----------------------------------------------------------------------


@pytest.mark.corpus
@pytest.mark.skipif(not CORPUS.is_dir(), reason="CC0 corpus not present")
def test_corpus_loops_render_to_target(tmp_path: Path) -> None:
    names = ["arovane_beat_a", "bass_dnb_f", "ambi_choir", "ambi_piano"]
    paths = [CORPUS / f"{name}.flac" for name in names]
    if not all(p.exists() for p in paths):
        pytest.skip("expected corpus files are missing")
    plan = parse_plan(
        {
            "schema": "stemvault.render-plan/1",
            "tempo_bpm": 120,
            "duration_s": 30,
            "format": "flac",
            "stems": [{"id": n, "path": str(p)} for n, p in zip(names, paths, strict=True)],
            "sections": [
                {
                    "name": "intro",
                    "start_bar": 0,
                    "bars": 4,
                    "layers": [
                        {"stem": "ambi_choir", "repeats": 4, "fade_in_s": 2, "fade_out_s": 2}
                    ],
                },
                {
                    "name": "main",
                    "start_bar": 4,
                    "bars": 12,
                    "layers": [
                        {"stem": "arovane_beat_a", "repeats": 4},
                        {"stem": "bass_dnb_f", "repeats": 12, "gain_db": -4},
                        {"stem": "ambi_piano", "repeats": 4, "gain_db": -6, "fade_in_s": 2},
                    ],
                },
            ],
        }
    )
    result = render(plan)
    decoded = decode(result.audio)
    assert decoded.sample_rate == SR and decoded.frames == 30 * SR
    assert abs(integrated_loudness(decoded.samples, SR) - (-14)) <= 0.1
    assert true_peak_dbtp(decoded.samples, SR) <= -1.0
    assert {sid for s in result.attribution["seconds"] for sid in s["shares"]} == set(names)
    buffer = io.BytesIO(result.audio)
    assert sf.info(buffer).format == "FLAC"


def test_the_fade_pieces_of_a_layer_carry_the_same_gains_as_its_whole_envelope():
    plan = parse_plan(
        {
            "schema": "stemvault.render-plan/1",
            "tempo_bpm": 120,
            "duration_s": 8,
            "sample_rate": 48000,
            "stems": [{"id": "a", "path": "a.wav"}],
            "sections": [
                {
                    "name": "main",
                    "start_bar": 0,
                    "bars": 4,
                    "layers": [
                        {"stem": "a", "repeats": 4, "fade_in_s": 0.75, "fade_out_s": 1.5},
                    ],
                }
            ],
        }
    )
    (placement,) = plan_placements(plan, {"a": 48000})
    whole = placing._envelope(placement, placement.start_frame, placement.end_frame)
    assert whole is not None
    pieces = np.ones(placement.end_frame - placement.start_frame)
    cached = 0
    for a, b in placing.repeat_spans(placement, 48000):
        for lo, hi, env in placing.pieces(placement, a, b):
            if env is not None:
                pieces[lo - placement.start_frame : hi - placement.start_frame] = env
                cached += not env.flags.writeable  # a slice of a shared fade curve
    np.testing.assert_array_equal(pieces, whole)
    assert cached >= 2  # the fade in and the fade out came from the shared curves


def test_a_callers_loader_runs_in_the_callers_thread_and_plain_files_decode_alike(
    stem_dir: Path,
) -> None:
    plan = song_plan(stem_dir)
    threads: list[int] = []

    def loader(ref: Any) -> bytes:
        threads.append(threading.get_ident())
        return load_stem_file(ref)

    from_loader = load_stems(plan, loader, workers=3)
    from_files = load_stems(plan, workers=3)  # read on the decoding pool
    assert threads == [threading.get_ident()] * 3
    assert from_loader.keys() == from_files.keys()
    for stem_id, samples in from_files.items():
        np.testing.assert_array_equal(samples, from_loader[stem_id])


def test_a_missing_stem_file_names_the_stem_and_the_path(stem_dir: Path, tmp_path: Path) -> None:
    stems = [
        {"id": "kick", "path": str(stem_dir / "kick.wav")},
        {"id": "bass", "path": str(tmp_path / "gone.flac"), "bpm": 116},
        {"id": "pad", "path": str(stem_dir / "pad.flac")},
    ]
    with pytest.raises(PlanError, match=r"stem 'bass': cannot read .*gone\.flac"):
        load_stems(song_plan(stem_dir, stems=stems), workers=2)
