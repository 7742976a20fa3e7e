"""Uploads cannot exhaust memory: headers are judged before decoding, decoding has a budget.

Each bomb here is small bytes under a header that claims more (or less) than the audio holds.
A spy on soundfile's reads counts the frames actually decoded, so "refused before decoding" and
"stopped one block past the budget" are asserted as behaviour, not timed."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from renderer.audio import Audio, pcm_sha256
from renderer.validate import AudioRejected, validate_upload
from tests.factories.audio import decode, encode, flac_declaring

MB = 1_000_000
RATE = 48000
FOUR_H_TEN_MIN = (4 * 3600 + 10 * 60) * RATE


def _tone(seconds: float, rate: int = RATE) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    mono = 0.3 * np.sin(2 * np.pi * 440.0 * t) + 0.01 * np.sin(2 * np.pi * 3.0 * t)
    return np.stack([mono, mono[::-1]], axis=1).astype(np.float32)


@pytest.fixture
def decoded(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The frame counts of every soundfile read from here on (whatever reads them)."""
    counts: list[int] = []
    real = sf.SoundFile.read

    def spy(self: sf.SoundFile, *args: object, **kwargs: object) -> np.ndarray:
        out = real(self, *args, **kwargs)
        counts.append(len(out))
        return out

    monkeypatch.setattr(sf.SoundFile, "read", spy)
    return counts


def _rejected(data: bytes, kind: str) -> AudioRejected:
    with pytest.raises(AudioRejected) as info:
        validate_upload(data, filename="take.flac", kind=kind, max_bytes=50 * MB)
    return info.value


def test_a_small_flac_declaring_hours_is_refused_from_its_header_without_decoding(decoded):
    bomb = flac_declaring(encode(_tone(1.0), fmt="FLAC", subtype="PCM_16"), FOUR_H_TEN_MIN)
    assert len(bomb) < 200_000
    error = _rejected(bomb, "loop")
    assert error.code == "duration"
    assert "declares 4 h 10 min of audio; a loop may be at most 2 min" in error.message
    assert sum(decoded) == 0


def test_a_real_recording_whose_header_claims_hours_is_refused_without_decoding(
    corpus_dir: Path, decoded
):
    data = (corpus_dir / "ambi_drone.flac").read_bytes()
    rate = sf.info(io.BytesIO(data)).samplerate
    error = _rejected(flac_declaring(data, (4 * 3600 + 10 * 60) * rate), "field-recording")
    assert error.code == "duration"
    assert "declares 4 h 10 min of audio; a field-recording may be at most 30 min" in error.message
    assert sum(decoded) == 0


def test_a_flac_that_declares_less_than_it_holds_is_stopped_at_its_declared_length(decoded):
    liar = flac_declaring(
        encode(_tone(20.0), fmt="FLAC", subtype="PCM_16"), RATE
    )  # says 1 s, holds 20 s
    error = _rejected(liar, "loop")
    assert error.code == "header_mismatch"
    assert "declares 48000 frames but the file holds more" in error.message
    assert sum(decoded) == RATE + 1  # one frame past the declared length proves the lie


def test_a_real_recording_that_declares_less_than_it_holds_is_refused(corpus_dir: Path):
    data = (corpus_dir / "ambi_drone.flac").read_bytes()  # 4.4 s
    rate = sf.info(io.BytesIO(data)).samplerate
    assert _rejected(flac_declaring(data, rate), "loop").code == "header_mismatch"


def test_a_flac_of_unknown_length_is_stopped_once_it_passes_the_kinds_limit(decoded):
    unknown = flac_declaring(
        encode(_tone(12.0), fmt="FLAC", subtype="PCM_16"), 0
    )  # STREAMINFO 0 = unknown; a one-shot may last 10 s
    error = _rejected(unknown, "one-shot")
    assert error.code == "duration"
    assert "decodes to more than 10.00 s of audio; a one-shot may be at most 10.00 s" in (
        error.message
    )
    assert sum(decoded) == 10 * RATE + 1


def test_a_flac_of_unknown_length_within_the_limits_is_accepted_whole():
    original = encode(_tone(2.0), fmt="FLAC", subtype="PCM_16")
    upload = validate_upload(
        flac_declaring(original, 0), filename="take.flac", kind="stem", max_bytes=50 * MB
    )
    assert upload.frames == 2 * RATE
    assert upload.pcm_sha256 == pcm_sha256(Audio(decode(original), RATE))


def test_a_wav_longer_than_its_kind_allows_is_refused_from_its_header(decoded):
    error = _rejected(encode(_tone(12.0), subtype="PCM_16"), "one-shot")
    assert error.code == "duration"
    assert "declares 12.00 s of audio; a one-shot may be at most 10.00 s" in error.message
    assert "one-shot must last 0.05 to 10 seconds" in error.message
    assert sum(decoded) == 0


@pytest.mark.parametrize("subtype", ["IMA_ADPCM", "GSM610"])
def test_a_lossy_codec_inside_a_wav_is_refused_before_decoding(decoded, subtype):
    # ADPCM and GSM decode to 8 and 20 times their bytes: refused on the header's word alone.
    rate = 8000 if subtype == "GSM610" else RATE
    error = _rejected(encode(_tone(2.0, rate)[:, :1], rate, subtype=subtype), "stem")
    assert error.code == "lossy_format"
    assert subtype in error.message
    assert sum(decoded) == 0


def test_a_wav_whose_data_size_is_the_streaming_placeholder_is_refused_without_decoding(decoded):
    raw = bytearray(encode(_tone(1.0), subtype="PCM_16"))
    raw[4:8] = b"\xff\xff\xff\xff"
    at = raw.index(b"data")
    raw[at + 4 : at + 8] = b"\xff\xff\xff\xff"  # 0xFFFFFFFF: "as long as it goes", 6 h at 48k
    error = _rejected(bytes(raw), "loop")
    assert error.code == "truncated" and "promises 4294967295 bytes" in error.message
    assert sum(decoded) == 0


def test_the_pcm_hash_block_by_block_is_the_whole_file_float64_formula():
    rng = np.random.default_rng(3)
    samples = (rng.standard_normal((300_001, 2)) * 0.5).astype(np.float32)
    # Clipped values, exact half-LSB ties (round half to even), a denormal, a huge value.
    samples[:6, 0] = [3.0, -2.0, 0.5 / 8388608, 1.5 / 8388608, 1e-40, 1e38]
    quantised = np.clip(np.round(samples.astype(np.float64) * 8388608.0), -8388608, 8388607)
    digest = hashlib.sha256(f"{RATE}:2:".encode())
    digest.update(quantised.astype("<i4").tobytes())
    assert pcm_sha256(Audio(samples, RATE)) == digest.hexdigest()


def test_the_jobs_decode_takes_a_flac_of_unknown_length_whole_and_refuses_a_liar():
    from renderer.validate import load_upload

    original = encode(_tone(3.0), fmt="FLAC", subtype="PCM_16")
    expected = decode(original)
    audio = load_upload(flac_declaring(original, 0), kind="stem")
    assert audio.sample_rate == RATE and np.array_equal(audio.samples, expected)
    with pytest.raises(AudioRejected) as liar:
        load_upload(flac_declaring(original, RATE), kind="stem")  # says 1 s, holds 3 s
    assert liar.value.code == "header_mismatch"
    with pytest.raises(AudioRejected) as bomb:
        load_upload(flac_declaring(original, FOUR_H_TEN_MIN), kind="stem")
    assert bomb.value.code == "duration" and "declares 4 h 10 min" in bomb.value.message
