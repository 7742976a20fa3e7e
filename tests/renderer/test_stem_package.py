"""Stems: one bus per role group, as long as the mix and on its samples, summing to the mix
before the master limiter within SUM_TOLERANCE; a zip whose signed manifest and per-file
Content Credentials catch any change."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from renderer.buses import SUM_TOLERANCE, pre_limiter_factor, role_group, stem_groups
from renderer.credential_chain import development_chain
from renderer.credentials import DELIVERY_LABEL, CredentialsSigner, sign_credentials
from renderer.delivery import MasterFile
from renderer.engine import RenderResult, mix, render
from renderer.manifest import build_manifest, embed_manifest
from renderer.plan import RenderPlan, parse_plan
from renderer.signing import SignatureError, generate_keypair, sign_manifest
from renderer.stem_package import (
    MANIFEST_NAME,
    stem_files,
    verify_stems_zip,
    write_stems_zip,
)
from renderer.stems import load_stems
from tests.helpers.deliveries import (
    active_manifest,
    assertion,
    c2pa_report,
    status_codes,
    valid_but_untrusted,
)
from tests.helpers.manifests import STEMS_META, plan_data, write_stems

GROUPS = stem_groups({"kick": "drums", "pad": "harmony"})


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[RenderPlan, RenderResult]:
    folder = tmp_path_factory.mktemp("stems")
    write_stems(folder)
    plan = parse_plan(plan_data("wav", folder))
    return plan, render(plan, buses=GROUPS)


def test_roles_fall_into_their_groups() -> None:
    assert GROUPS == {"kick": "rhythm", "pad": "harmony"}
    assert role_group("vocals") == "melody" and role_group("texture") == "harmony"
    assert role_group(None) == role_group("kazoo") == "other"


def test_each_bus_is_as_long_as_the_mix_and_they_sum_to_it_before_the_limiter(
    rendered: tuple[RenderPlan, RenderResult],
) -> None:
    plan, result = rendered
    assert list(result.buses) == ["rhythm", "harmony"]
    for bus in result.buses.values():
        assert bus.shape == result.samples.shape and bus.dtype == np.float32
    # The mix as it entered the limiter, made independently of the buses.
    stems = load_stems(plan)
    pre = mix(list(result.placements), stems, plan.frames, plan.channels)
    pre *= pre_limiter_factor(result.stats["input_gain_db"])
    total = result.buses["rhythm"] + result.buses["harmony"]
    assert float(np.max(np.abs(total - pre))) <= SUM_TOLERANCE
    # Honest: the limiter did work here, so the master is not the sum (the stems are the
    # pre-limiter level, not the master's), and each bus alone is far from the mix.
    assert float(np.max(np.abs(pre))) > 10 ** (plan.true_peak_dbtp / 20)
    for bus in result.buses.values():
        assert float(np.max(np.abs(pre - bus))) > 100 * SUM_TOLERANCE


def test_a_bus_holds_its_group_only_on_the_mixs_samples(
    rendered: tuple[RenderPlan, RenderResult],
) -> None:
    plan, result = rendered
    # The kick plays only in the second section (bars 2..4 at 120 bpm: from 4 s): the rhythm
    # bus is silent before it, the harmony bus is not.
    start = round(4.0 * plan.sample_rate)
    assert not result.buses["rhythm"][:start].any()
    assert result.buses["rhythm"][start : start + 2400].any()
    assert result.buses["harmony"][:start].any()


def test_a_render_without_buses_asked_is_the_same_master(
    rendered: tuple[RenderPlan, RenderResult],
) -> None:
    plan, result = rendered
    plain = render(plan)
    assert plain.buses == {} and plain.audio == result.audio


@pytest.fixture(scope="module")
def package(rendered: tuple[RenderPlan, RenderResult]) -> tuple[bytes, bytes, dict[str, Any]]:
    plan, result = rendered
    private, public = generate_keypair()
    manifest = sign_manifest(
        build_manifest(plan, result, render_id="r-stems", stems_meta=STEMS_META), private
    )
    chain = development_chain(datetime.now(UTC))
    signer = CredentialsSigner(chain.signer_chain_pem, chain.signer_key_pem)
    master = sign_credentials(
        embed_manifest(result.audio, "wav", manifest), "wav", manifest, signer
    )
    files = stem_files(
        result.buses,
        plan.sample_rate,
        manifest,
        GROUPS,
        signer=signer,
        master=MasterFile(master, "wav", private),
    )
    out = io.BytesIO()
    write_stems_zip(
        out,
        files,
        manifest,
        private_key_pem=private,
        sample_rate=plan.sample_rate,
        frames=plan.frames,
        channels=plan.channels,
        input_gain_db=result.stats["input_gain_db"],
    )
    return out.getvalue(), public, manifest


def test_the_zip_lists_every_stem_file_with_its_stems_and_the_render(
    package: tuple[bytes, bytes, dict[str, Any]], rendered: tuple[RenderPlan, RenderResult]
) -> None:
    data, public, manifest = package
    _, result = rendered
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        contents = verify_stems_zip(archive, public)
        assert contents["render_id"] == "r-stems"
        assert contents["mix_audio_sha256"] == manifest["audio_sha256"]
        assert contents["sum_tolerance"] == SUM_TOLERANCE
        by_group = {entry["role_group"]: entry for entry in contents["files"]}
        assert [s["id"] for s in by_group["rhythm"]["stems"]] == ["kick"]
        pad = by_group["harmony"]["stems"][0]
        assert pad["credits"] == STEMS_META["pad"]["credits"]
        assert pad["content_sha256"] == manifest["stems"][1]["content_sha256"]
        for group, entry in by_group.items():
            samples, rate = sf.read(io.BytesIO(archive.read(entry["name"])), dtype="float32")
            assert rate == 48000 and np.array_equal(samples, result.buses[group])


def test_each_stem_file_carries_its_own_content_credentials(
    package: tuple[bytes, bytes, dict[str, Any]],
) -> None:
    data, _, _ = package
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        contents = json.loads(archive.read(MANIFEST_NAME))
        for entry in contents["files"]:
            report = c2pa_report(archive.read(entry["name"]), "audio/wav")
            assert valid_but_untrusted(report), report["validation_status"]
            active = active_manifest(report)
            heard = [s["id"] for s in entry["stems"]]
            components = [i for i in active["ingredients"] if i["relationship"] == "componentOf"]
            assert [i["instance_id"] for i in components] == [
                f"urn:stemvault:stem:{i}" for i in heard
            ]
            delivery = assertion(active, DELIVERY_LABEL)
            assert delivery["role_group"] == entry["role_group"]
            assert delivery["render_id"] == "r-stems"


def test_credentialed_stem_files_need_the_master_they_are_made_from(
    rendered: tuple[RenderPlan, RenderResult],
) -> None:
    _, result = rendered
    chain = development_chain(datetime.now(UTC))
    signer = CredentialsSigner(chain.signer_chain_pem, chain.signer_key_pem)
    with pytest.raises(ValueError, match="need the master"):
        next(stem_files(result.buses, 48000, _bare(), GROUPS, signer=signer))


def _rezip(data: bytes, change: dict[str, bytes | None]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            body = change.get(name, source.read(name))
            if body is not None:
                target.writestr(name, body)
        for name, body in change.items():
            if name not in source.namelist() and body is not None:
                target.writestr(name, body)
    return out.getvalue()


def test_a_changed_sample_an_edited_manifest_or_a_missing_file_is_detected(
    package: tuple[bytes, bytes, dict[str, Any]],
) -> None:
    data, public, _ = package
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        name = json.loads(archive.read(MANIFEST_NAME))["files"][0]["name"]
        stem = bytearray(archive.read(name))
        payload = archive.read(MANIFEST_NAME)
    stem[len(stem) // 2] ^= 0x01
    report = c2pa_report(bytes(stem), "audio/wav")
    assert "assertion.dataHash.mismatch" in status_codes(report)
    edited = payload.replace(b'"r-stems"', b'"r-other"')
    for change in (
        {name: bytes(stem)},
        {MANIFEST_NAME: edited},
        {name: None},
        {"stems/99-extra.wav": b"RIFF"},
    ):
        with (
            zipfile.ZipFile(io.BytesIO(_rezip(data, change))) as archive,
            pytest.raises(SignatureError),
        ):
            verify_stems_zip(archive, public)
    # And the untouched package still verifies (the checks above fail for their change).
    with zipfile.ZipFile(io.BytesIO(_rezip(data, {}))) as archive:
        verify_stems_zip(archive, public)


def test_the_same_render_packs_to_the_same_bytes() -> None:
    # No clock inside the zip: timestamps are fixed, Ed25519 signatures deterministic.
    buses = {"bass": np.zeros((10, 2), np.float32)}
    private, _ = generate_keypair()
    first, second = io.BytesIO(), io.BytesIO()
    for out in (first, second):
        files = stem_files(buses, 48000, _bare(), {}, signer=None)
        write_stems_zip(
            out,
            files,
            _bare(),
            private_key_pem=private,
            sample_rate=48000,
            frames=10,
            channels=2,
            input_gain_db=0.0,
        )
    assert first.getvalue() == second.getvalue()


def _bare() -> dict[str, Any]:
    return {"render_id": "r-0", "stems": [], "audio_sha256": "0" * 64, "engine_version": "x"}
