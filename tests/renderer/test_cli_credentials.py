"""`python -m renderer render` gives its files the portal's Content Credentials when it is
handed a C2PA certificate chain, writes the MP3 beside them on request, and says why not when
it has no chain."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import c2pa
import pytest

from renderer.credential_chain import development_chain
from tests.helpers.deliveries import (
    active_manifest,
    c2pa_report,
    ffprobe,
    need_ffmpeg,
    valid_but_untrusted,
)
from tests.helpers.manifests import cli, plan_data, write_stems


@pytest.fixture
def chain(tmp_path: Path) -> tuple[Path, Path]:
    made = development_chain(datetime.now(UTC))
    chain_path, key_path = tmp_path / "chain.pem", tmp_path / "key.pem"
    chain_path.write_bytes(made.signer_chain_pem)
    key_path.write_bytes(made.signer_key_pem)
    return chain_path, key_path


def _plan(tmp_path: Path, fmt: str = "wav") -> Path:
    write_stems(tmp_path)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan_data(fmt)))
    return path


def test_with_a_chain_the_master_and_its_mp3_carry_content_credentials(
    tmp_path: Path, chain: tuple[Path, Path]
) -> None:
    need_ffmpeg()
    out = tmp_path / "out" / "mix.wav"
    done = cli(
        "render",
        str(_plan(tmp_path)),
        "--out",
        str(out),
        "--c2pa-chain",
        str(chain[0]),
        "--c2pa-key",
        str(chain[1]),
        "--mp3",
    )
    assert done.returncode == 0, done.stderr
    assert "Content Credentials" not in done.stderr
    for path, mime in ((out, "audio/wav"), (out.with_suffix(".mp3"), "audio/mpeg")):
        report = c2pa_report(path.read_bytes(), mime)
        assert valid_but_untrusted(report), (path, report["validation_status"])
        ingredients = active_manifest(report)["ingredients"]
        assert {i["instance_id"] for i in ingredients if i["relationship"] == "componentOf"} == {
            "urn:stemvault:stem:kick",
            "urn:stemvault:stem:pad",
        }
    # The MP3 names the master written beside it as its parent ingredient.
    mp3_report = c2pa_report(out.with_suffix(".mp3").read_bytes(), "audio/mpeg")
    (parent,) = [
        i for i in active_manifest(mp3_report)["ingredients"] if i["relationship"] == "parentOf"
    ]
    master_sha256 = hashlib.sha256(out.read_bytes()).hexdigest()
    assert parent["metadata"]["io.stemvault.master"]["sha256"] == master_sha256
    assert (
        int(ffprobe(out.with_suffix(".mp3").read_bytes(), ".mp3")["streams"][0]["bit_rate"])
        == 320_000
    )
    # The credentials sit where the manifest reader allows them: verify still passes.
    for path in (out, out.with_suffix(".mp3")):
        verified = cli("verify", str(path), "--public-key", str(tmp_path / "out" / "mix.pub.pem"))
        assert verified.returncode == 0, verified.stdout + verified.stderr


def test_the_chain_may_come_from_the_portals_environment_names(
    tmp_path: Path, chain: tuple[Path, Path]
) -> None:
    out = tmp_path / "mix.flac"
    env = {"C2PA_CERT_CHAIN_PEM": str(chain[0]), "C2PA_PRIVATE_KEY_PEM": str(chain[1])}
    done = cli("render", str(_plan(tmp_path, "flac")), "--out", str(out), env=env)
    assert done.returncode == 0, done.stderr
    assert valid_but_untrusted(c2pa_report(out.read_bytes(), "audio/flac"))


def test_without_a_chain_it_says_why_the_file_has_no_credentials(tmp_path: Path) -> None:
    out = tmp_path / "mix.wav"
    done = cli("render", str(_plan(tmp_path)), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "no Content Credentials (C2PA) written: no certificate chain given" in done.stderr
    with pytest.raises(c2pa.C2paError.ManifestNotFound):
        c2pa_report(out.read_bytes(), "audio/wav")


def test_a_chain_without_its_key_is_refused_and_nothing_written(
    tmp_path: Path, chain: tuple[Path, Path]
) -> None:
    out = tmp_path / "mix.wav"
    done = cli("render", str(_plan(tmp_path)), "--out", str(out), "--c2pa-chain", str(chain[0]))
    assert done.returncode == 2 and "C2PA" in done.stderr
    assert not out.exists()
