"""MP3 deliveries: CBR 320 kbps as ffprobe reads it, gapless (the ffmpeg CLI decodes exactly the
master's frames, on the same sample), within codec error of the master, and credentialed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import c2pa
import numpy as np
import pytest

from renderer.credential_chain import development_chain
from renderer.credentials import DELIVERY_LABEL, CredentialsSigner, sign_credentials
from renderer.engine import RenderResult, render
from renderer.manifest import build_manifest
from renderer.mp3 import MP3_BIT_RATE, encode_mp3, mp3_sample_rate
from renderer.plan import parse_plan
from renderer.signing import generate_keypair, sign_manifest
from tests.helpers.deliveries import (
    active_manifest,
    assertion,
    c2pa_report,
    ffmpeg_decode,
    ffprobe,
    need_ffmpeg,
    status_codes,
    valid_but_untrusted,
)
from tests.helpers.manifests import STEMS_META, plan_data, write_stems


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Callable[[int], RenderResult]:
    cache: dict[int, RenderResult] = {}

    def made(sample_rate: int) -> RenderResult:
        if sample_rate not in cache:
            folder = tmp_path_factory.mktemp(f"mp3-{sample_rate}")
            write_stems(folder)
            cache[sample_rate] = render(
                parse_plan({**plan_data("wav", folder), "sample_rate": sample_rate})
            )
        return cache[sample_rate]

    return made


def _snr_db(reference: np.ndarray, decoded: np.ndarray) -> float:
    noise = decoded.astype(np.float64) - reference
    return float(10 * np.log10(np.sum(reference.astype(np.float64) ** 2) / np.sum(noise**2)))


def test_it_is_constant_320_kbps_as_ffprobe_reads_it(
    rendered: Callable[[int], RenderResult],
) -> None:
    need_ffmpeg()
    result = rendered(48000)
    info = ffprobe(encode_mp3(result.samples, 48000), ".mp3", "-show_packets")
    (stream,) = info["streams"]
    assert stream["codec_name"] == "mp3" and int(stream["sample_rate"]) == 48000
    assert int(stream["bit_rate"]) == MP3_BIT_RATE == 320_000
    # CBR: every MPEG-1 Layer III frame at 320 kbps and 48 kHz is 144 * 320000 / 48000 bytes
    # (48 kHz divides evenly, so no frame has a padding byte); a VBR or ABR stream varies.
    sizes = {int(p["size"]) for p in info["packets"]}
    assert sizes == {144 * 320_000 // 48000}


def test_the_decoded_mp3_is_the_master_within_codec_error_on_the_same_samples(
    rendered: Callable[[int], RenderResult],
) -> None:
    need_ffmpeg()
    result = rendered(48000)
    decoded = ffmpeg_decode(encode_mp3(result.samples, 48000), ".mp3", 2)
    # The LAME Info header's delay and padding are trimmed: exactly the master's frames.
    assert decoded.shape == result.samples.shape
    aligned = _snr_db(result.samples, decoded)
    assert aligned > 40.0  # 320 kbps LAME on these tones and kick: ~79 dB
    # On the same sample: one sample early or late is far worse (so is LAME's 1105 delay).
    for lag in (1, 1105):
        assert _snr_db(result.samples[:-lag], decoded[lag:]) < aligned - 10
        assert _snr_db(result.samples[lag:], decoded[:-lag]) < aligned - 10


def test_a_96_khz_master_is_delivered_at_48_khz_and_as_long(
    rendered: Callable[[int], RenderResult],
) -> None:
    need_ffmpeg()
    result = rendered(96000)
    assert mp3_sample_rate(96000) == 48000 and mp3_sample_rate(44100) == 44100
    data = encode_mp3(result.samples, 96000)
    assert int(ffprobe(data, ".mp3")["streams"][0]["sample_rate"]) == 48000
    assert ffmpeg_decode(data, ".mp3", 2).shape[0] == result.samples.shape[0] // 2


@pytest.fixture(scope="module")
def signed_mp3(rendered: Callable[[int], RenderResult]) -> tuple[bytes, dict[str, Any]]:
    result = rendered(48000)
    plan = parse_plan(plan_data("wav", Path("/nonexistent")))
    private, _ = generate_keypair()
    manifest = sign_manifest(
        build_manifest(plan, result, render_id="r-mp3", stems_meta=STEMS_META), private
    )
    chain = development_chain(datetime.now(UTC))
    signer = CredentialsSigner(chain.signer_chain_pem, chain.signer_key_pem)
    delivery = {"kind": "mp3", "render_id": "r-mp3", "bit_rate": MP3_BIT_RATE}
    data = sign_credentials(
        encode_mp3(result.samples, 48000), "mp3", manifest, signer, delivery=delivery
    )
    return data, manifest


def test_the_mp3_carries_valid_content_credentials_listing_its_stems(
    signed_mp3: tuple[bytes, dict[str, Any]],
) -> None:
    data, manifest = signed_mp3
    report = c2pa_report(data, "audio/mpeg")
    assert valid_but_untrusted(report), report["validation_status"]
    active = active_manifest(report)
    assert active["title"] == "Stemvault render r-mp3.mp3"
    assert {i["instance_id"] for i in active["ingredients"]} == {
        "urn:stemvault:stem:kick",
        "urn:stemvault:stem:pad",
    }
    assert assertion(active, DELIVERY_LABEL)["kind"] == "mp3"
    assert assertion(active, "io.stemvault.attribution")["render_id"] == manifest["render_id"]


def test_a_changed_frame_or_a_stripped_store_of_the_mp3_is_detected(
    signed_mp3: tuple[bytes, dict[str, Any]], rendered: Callable[[int], RenderResult]
) -> None:
    data, _ = signed_mp3
    changed = bytearray(data)
    changed[len(data) // 2] ^= 0x01
    report = c2pa_report(bytes(changed), "audio/mpeg")
    assert report["validation_state"] == "Invalid"
    assert "assertion.dataHash.mismatch" in status_codes(report)
    with pytest.raises(c2pa.C2paError.ManifestNotFound):
        c2pa_report(encode_mp3(rendered(48000).samples, 48000), "audio/mpeg")


def test_a_credentialed_mp3_still_decodes_gapless(
    signed_mp3: tuple[bytes, dict[str, Any]], rendered: Callable[[int], RenderResult]
) -> None:
    need_ffmpeg()
    data, _ = signed_mp3
    assert data[:3] == b"ID3"  # the C2PA store's tag, in front of the LAME Info frame
    assert ffmpeg_decode(data, ".mp3", 2).shape == rendered(48000).samples.shape
