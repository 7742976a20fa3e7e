"""Upload validation: each rejection is triggered by crafted bytes, and good files pass."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest

from renderer.validate import AudioRejected, validate_filename, validate_upload
from tests.factories.audio import WAV_VARIANTS, encode, tone, wav_variant

MB = 1_000_000


def _rejected(data, *, filename="take.wav", kind="stem", max_bytes=50 * MB) -> AudioRejected:
    with pytest.raises(AudioRejected) as info:
        validate_upload(data, filename=filename, kind=kind, max_bytes=max_bytes)
    assert info.value.message  # every rejection tells the artist something
    return info.value


def _data_chunk_offset(wav: bytes) -> int:
    offset = 12
    while wav[offset : offset + 4] != b"data":
        offset += 8 + struct.unpack_from("<I", wav, offset + 4)[0]
    return offset


@pytest.mark.parametrize(
    ("fmt", "subtype", "name"),
    [("WAV", "PCM_24", "take.wav"), ("FLAC", "PCM_16", "take.flac"), ("AIFF", "PCM_16", "x.aif")],
)
def test_lossless_files_are_accepted(fmt, subtype, name):
    audio = validate_upload(
        encode(tone(), fmt=fmt, subtype=subtype), filename=name, kind="stem", max_bytes=50 * MB
    )
    assert audio.sample_rate == 48000
    assert audio.channels == 2
    assert audio.frames == 96000
    assert audio.subtype == subtype


def test_accepts_a_binary_stream():
    audio = validate_upload(
        io.BytesIO(encode(tone())), filename="take.wav", kind="stem", max_bytes=50 * MB
    )
    assert audio.frames == 96000


def test_empty_file_is_rejected():
    assert _rejected(b"").code == "empty"


def test_text_named_wav_is_not_audio():
    assert _rejected(b"hello, this is a text file\n" * 20).code == "not_audio"


def test_mp3_named_wav_is_rejected_as_lossy():
    mp3 = encode(tone(), fmt="MP3", subtype="MPEG_LAYER_III")
    error = _rejected(mp3, filename="definitely-a.wav")
    assert error.code == "lossy_format"
    assert "WAV, FLAC or AIFF" in error.message


def test_ogg_vorbis_is_rejected_as_lossy():
    vorbis = encode(tone(), fmt="OGG", subtype="VORBIS")
    assert _rejected(vorbis, filename="take.flac").code == "lossy_format"


def test_other_containers_are_rejected_even_if_named_wav():
    au = encode(tone(), fmt="AU", subtype="PCM_16")
    assert _rejected(au).code == "unsupported_container"


def test_wav_cut_in_half_is_truncated():
    wav = encode(tone())
    assert _rejected(wav[: len(wav) // 2]).code == "truncated"


def test_data_chunk_size_bumped_beyond_the_file_is_a_lying_header():
    wav = bytearray(encode(tone()))
    offset = _data_chunk_offset(bytes(wav))
    size = struct.unpack_from("<I", wav, offset + 4)[0]
    struct.pack_into("<I", wav, offset + 4, size + 48000)
    error = _rejected(bytes(wav))
    assert error.code == "header_mismatch"
    assert str(size + 48000) in error.message


def test_riff_size_disagreeing_with_the_file_is_a_lying_header():
    wav = bytearray(encode(tone()))
    struct.pack_into("<I", wav, 4, len(wav) // 2)
    assert _rejected(bytes(wav)).code == "header_mismatch"


def test_aiff_cut_short_is_truncated():
    aiff = encode(tone(), fmt="AIFF")
    assert _rejected(aiff[: len(aiff) - 4000], filename="take.aiff").code == "truncated"


def test_float_wav_with_nan_is_rejected():
    samples = tone()
    samples[1234, 0] = np.nan
    samples[5000, 1] = np.inf
    error = _rejected(encode(samples, subtype="FLOAT"))
    assert error.code == "non_finite"
    assert "2 samples" in error.message


def test_three_channel_wav_is_rejected():
    assert _rejected(encode(tone(channels=3))).code == "too_many_channels"


def test_low_sample_rate_is_rejected():
    error = _rejected(encode(tone(rate=22050), rate=22050))
    assert error.code == "sample_rate"
    assert "22050" in error.message


@pytest.mark.parametrize(
    ("kind", "seconds"), [("one-shot", 12.0), ("loop", 0.3), ("stem", 0.5), ("one-shot", 0.02)]
)
def test_duration_outside_the_kinds_limits_is_rejected(kind, seconds):
    error = _rejected(encode(tone(seconds=seconds)), kind=kind)
    assert error.code == "duration"
    assert f"{seconds:.2f}" in error.message


def test_duration_inside_the_limits_passes_for_each_kind():
    for kind, seconds in [("one-shot", 0.5), ("loop", 4.0), ("stem", 2.0)]:
        audio = validate_upload(
            encode(tone(seconds=seconds)), filename="a.wav", kind=kind, max_bytes=50 * MB
        )
        assert audio.duration_s == pytest.approx(seconds)


def test_digital_silence_is_rejected():
    assert _rejected(encode(np.zeros((96000, 2), np.float32))).code == "silent"


def test_near_silence_below_minus_90_dbfs_is_rejected():
    quiet = (tone() / 0.3 * 10 ** (-95 / 20)).astype(np.float32)
    assert _rejected(encode(quiet, subtype="FLOAT")).code == "silent"


def test_oversized_upload_is_rejected_before_decoding():
    wav = encode(tone())
    assert _rejected(wav, max_bytes=len(wav) - 1).code == "too_large"
    assert _rejected(io.BytesIO(wav), max_bytes=1000).code == "too_large"


def test_unknown_kind_is_rejected():
    assert _rejected(encode(tone()), kind="symphony").code == "unknown_kind"


@pytest.mark.parametrize("name", ["", "   ", "../etc/passwd", "a\\b.wav", "take\x00.wav"])
def test_bad_filenames_are_rejected(name):
    with pytest.raises(AudioRejected) as info:
        validate_filename(name)
    assert info.value.code == "bad_filename"
    assert _rejected(encode(tone()), filename=name).code == "bad_filename"


def test_ordinary_filename_is_kept():
    assert validate_filename(" My Take (final).wav ") == "My Take (final).wav"


# --- WAV header variants (issue 18: they passed here, then stem_submit refused them) --------


@pytest.mark.parametrize("label", WAV_VARIANTS)
def test_extensible_and_float_wavs_are_accepted_as_wav(label):
    data = wav_variant(tone(), label)
    audio = validate_upload(data, filename="take.wav", kind="stem", max_bytes=50 * MB)
    # The container, not libsndfile's "WAVEX": everything downstream treats it as a WAV.
    assert audio.format == "WAV"
    assert audio.wave is not None and audio.wave.linear
    assert audio.frames == 96000 and audio.channels == 2


def test_an_extensible_wav_carrying_mp3_is_refused_as_lossy():
    data = bytearray(encode(tone(), fmt="WAVEX", subtype="PCM_24"))
    struct.pack_into("<H", data, data.index(b"fmt ") + 8 + 24, 0x0055)  # SubFormat: MP3
    assert _rejected(bytes(data)).code == "lossy_format"
