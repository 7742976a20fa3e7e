"""WAVE_FORMAT_EXTENSIBLE (sox's and many DAWs' 24-bit) and float WAVs are taken wherever a
plain WAV is: upload validation, stem_submit and the provenance evidence read one fmt chunk
reader (renderer.dsp.chunks.read_wave_format), so they cannot disagree (issue 18, item 5)."""

from __future__ import annotations

import pytest

from portal.stems.evidence import file_format, read_tags
from portal.stems.models import CheckName, ProvenanceCheck, StemStatus
from renderer.audio import load_audio, pcm_sha256
from tests.factories.audio import WAV_VARIANTS, encode, tone_loop, wav_variant, with_riff_info
from tests.factories.contributions import upload


@pytest.mark.parametrize("label", WAV_VARIANTS)
def test_stem_submit_takes_every_wav_header_variant_as_a_wav(artist, submit, label):
    data = wav_variant(tone_loop(seed=60), label)
    (stem,) = submit(artist, upload(data, "take.wav"))
    # Before: validate_upload passed these and stem_submit refused them (unsupported_container).
    assert stem.audio_format == "WAV" and stem.audio.name.endswith(".wav")
    assert stem.status == StemStatus.PROCESSING
    with stem.audio.open("rb") as handle:
        assert handle.read() == data


@pytest.mark.parametrize("label", WAV_VARIANTS)
def test_the_evidence_reads_format_and_tags_of_every_wav_header_variant(label):
    data = with_riff_info(wav_variant(tone_loop(seed=61, seconds=1.0), label), {"ISFT": "Suno"})
    described = file_format(data)
    assert described.startswith("WAV, ")
    assert ("float" in described) == ("FLOAT" in label or "floating" in label)
    assert ("EXTENSIBLE" in described) == ("WAVEX" in label or label in ("sox -b 24", "sox -b 32"))
    assert ("RIFF INFO", "ISFT (software)", "Suno") in read_tags(data)


def test_the_evidence_names_the_header_of_a_plain_wav_too():
    assert file_format(encode(tone_loop(seconds=1.0))) == "WAV, 24-bit PCM"
    assert file_format(encode(tone_loop(seconds=1.0), fmt="FLAC", subtype="PCM_16")) == "FLAC"


def test_a_sox_24_bit_wav_goes_through_provenance_to_review(artist, submit, run_jobs):
    data = wav_variant(tone_loop(seed=62), "sox -b 24")
    (stem,) = submit(artist, upload(data, "take.wav"))
    run_jobs()
    stem.refresh_from_db()
    assert stem.status == StemStatus.IN_REVIEW
    metadata = ProvenanceCheck.objects.get(stem=stem, check_name=CheckName.METADATA)
    assert metadata.evidence["format"] == "WAV, 24-bit PCM (WAVE_FORMAT_EXTENSIBLE)"
    assert stem.pcm_sha256 == pcm_sha256(load_audio(data))
