"""Deliveries made from the master (the MP3, the stem files, the stems zip): their Content
Credentials name the delivered master as their parent ingredient, and `renderer verify` checks
them with the render's public key, failing on any change, a stripped store or a forgery."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from renderer.buses import stem_groups
from renderer.credential_chain import development_chain
from renderer.credentials import (
    DELIVERY_LABEL,
    MASTER_METADATA_KEY,
    CredentialsSigner,
    sign_credentials,
)
from renderer.delivery import MasterFile, sign_delivery
from renderer.delivery_verify import verify_delivery, verify_stems_package
from renderer.embedding import c2pa_id3_length
from renderer.engine import RenderResult, render
from renderer.manifest import build_manifest, embed_manifest
from renderer.mp3 import encode_mp3
from renderer.plan import parse_plan
from renderer.signing import generate_keypair, sign_manifest
from renderer.stem_package import stem_files, write_stems_zip
from tests.helpers.deliveries import (
    active_manifest,
    assertion,
    c2pa_report,
    node_verify,
    valid_but_untrusted,
)
from tests.helpers.manifests import STEMS_META, cli, plan_data, write_stems

GROUPS = stem_groups({"kick": "drums", "pad": "harmony"})


class Made:
    """One render delivered: the credentialed master WAV, its MP3, its stems zip, and keys."""

    def __init__(self, folder: Path) -> None:
        write_stems(folder)
        plan = parse_plan(plan_data("wav", folder))
        self.result: RenderResult = render(plan, buses=GROUPS)
        self.private, self.public = generate_keypair()
        self.manifest = sign_manifest(
            build_manifest(plan, self.result, render_id="r-9", stems_meta=STEMS_META),
            self.private,
        )
        chain = development_chain(datetime.now(UTC))
        self.signer = CredentialsSigner(chain.signer_chain_pem, chain.signer_key_pem)
        self.master = sign_credentials(
            embed_manifest(self.result.audio, "wav", self.manifest),
            "wav",
            self.manifest,
            self.signer,
        )
        self.mp3 = self.mp3_of(encode_mp3(self.result.samples, 48000))
        out = io.BytesIO()
        files = stem_files(
            self.result.buses,
            48000,
            self.manifest,
            GROUPS,
            signer=self.signer,
            master=MasterFile(self.master, "wav", self.private),
        )
        frames, channels = self.result.samples.shape
        write_stems_zip(
            out,
            files,
            self.manifest,
            private_key_pem=self.private,
            sample_rate=48000,
            frames=frames,
            channels=channels,
            input_gain_db=self.result.stats["input_gain_db"],
        )
        self.zip = out.getvalue()

    def mp3_of(
        self,
        encoded: bytes,
        *,
        private: bytes | None = None,
        signer: CredentialsSigner | None = None,
    ) -> bytes:
        return sign_delivery(
            encoded,
            "mp3",
            {"kind": "mp3", "render_id": "r-9", "bit_rate": 320_000},
            master=self.master,
            master_fmt="wav",
            manifest=self.manifest,
            signer=signer or self.signer,
            private_key_pem=private or self.private,
        )

    def stem(self, number: int = 0) -> bytes:
        with zipfile.ZipFile(io.BytesIO(self.zip)) as archive:
            names = sorted(n for n in archive.namelist() if n.startswith("stems/"))
            return archive.read(names[number])


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Made:
    return Made(tmp_path_factory.mktemp("deliveries"))


def _parent(report: dict[str, Any]) -> dict[str, Any]:
    parents = [i for i in active_manifest(report)["ingredients"] if i["relationship"] == "parentOf"]
    assert len(parents) == 1
    return parents[0]


@pytest.mark.parametrize("kind", ["mp3", "stem"])
def test_the_mp3_and_a_stem_name_the_delivered_master_as_their_parent(
    made: Made, kind: str
) -> None:
    data, mime = (made.mp3, "audio/mpeg") if kind == "mp3" else (made.stem(), "audio/wav")
    report = c2pa_report(data, mime)
    assert valid_but_untrusted(report), report["validation_status"]
    master_report = c2pa_report(made.master, "audio/wav")
    master_active = active_manifest(master_report)
    parent = _parent(report)
    # The parent is the master as delivered: its bytes' hash, its C2PA instance id, and its
    # own manifest store, copied into this file's store under the label the master's has.
    assert parent["metadata"][MASTER_METADATA_KEY]["sha256"] == (
        hashlib.sha256(made.master).hexdigest()
    )
    assert parent["instance_id"] == master_active["instance_id"]
    assert parent["active_manifest"] == master_report["active_manifest"]
    copied = report["manifests"][parent["active_manifest"]]
    assert copied["signature_info"] == master_active["signature_info"]
    # The stems heard stay componentOf ingredients; the master has no parent of its own.
    components = {
        i["instance_id"]
        for i in active_manifest(report)["ingredients"]
        if i["relationship"] == "componentOf"
    }
    expected = {"urn:stemvault:stem:kick", "urn:stemvault:stem:pad"} if kind == "mp3" else None
    assert components and (expected is None or components == expected)
    assert {i["relationship"] for i in master_active["ingredients"]} == {"componentOf"}
    actions = assertion(active_manifest(report), "c2pa.actions.v2")["actions"]
    derived = "c2pa.transcoded" if kind == "mp3" else "c2pa.edited"
    assert [a["action"] for a in actions[:2]] == ["c2pa.opened", derived]


def test_the_mp3_and_the_stems_verify_with_the_render_key(made: Made) -> None:
    ok, reason = verify_delivery(made.mp3, "mp3", made.public)
    assert ok, reason
    assert "MP3 of render r-9" in reason and hashlib.sha256(made.master).hexdigest() in reason
    ok, reason = verify_delivery(made.stem(1), "wav", made.public)
    assert ok and "harmony stem of render r-9" in reason, reason
    ok, lines = verify_stems_package(made.zip, made.public)
    assert ok, lines
    assert [line.split(":")[0] for line in lines[1:]] == [
        "stems/01-rhythm.wav",
        "stems/02-harmony.wav",
    ]


def _flip(data: bytes, at: int) -> bytes:
    changed = bytearray(data)
    changed[at] ^= 0x01
    return bytes(changed)


def _statement(data: bytes, mime: str) -> dict[str, Any]:
    found: dict[str, Any] = assertion(active_manifest(c2pa_report(data, mime)), DELIVERY_LABEL)
    return found


def test_a_changed_frame_a_changed_assertion_or_a_stripped_store_fails(made: Made) -> None:
    ok, reason = verify_delivery(_flip(made.mp3, len(made.mp3) - 5000), "mp3", made.public)
    assert not ok and "changed after it was signed" in reason, reason
    assert "assertion.dataHash.mismatch" in reason
    digest = _statement(made.mp3, "audio/mpeg")["content_sha256"].encode()
    at = made.mp3.index(digest)
    ok, reason = verify_delivery(_flip(made.mp3, at), "mp3", made.public)
    assert not ok and "changed after it was signed" in reason, reason
    ok, reason = verify_delivery(made.mp3[c2pa_id3_length(made.mp3, "mp3") :], "mp3", made.public)
    assert not ok and "no Content Credentials" in reason, reason
    stem = made.stem()
    ok, reason = verify_delivery(_flip(stem, 200), "wav", made.public)
    assert not ok and "assertion.dataHash.mismatch" in reason, reason


def test_a_forgery_with_its_own_keys_or_a_copied_statement_fails(
    made: Made, tmp_path: Path
) -> None:
    chain = development_chain(datetime.now(UTC))
    forger = CredentialsSigner(chain.signer_chain_pem, chain.signer_key_pem)
    forger_private, _ = generate_keypair()
    other_audio = encode_mp3(made.result.samples * 0.5, 48000)
    # Their own Ed25519 and C2PA keys: the C2PA is as valid as ours, the statement's key is not.
    forged = made.mp3_of(other_audio, private=forger_private, signer=forger)
    assert valid_but_untrusted(c2pa_report(forged, "audio/mpeg"))
    ok, reason = verify_delivery(forged, "mp3", made.public)
    assert not ok and "is signed by key" in reason and "not by key" in reason, reason
    # Our genuine signed statement (and attribution) copied onto other audio under their chain.
    genuine = _statement(made.mp3, "audio/mpeg")
    copied = sign_credentials(other_audio, "mp3", made.manifest, forger, delivery=genuine)
    ok, reason = verify_delivery(copied, "mp3", made.public)
    assert not ok and "the audio does not match the signed statement" in reason, reason
    # The readable fields edited (another render id) while the signed payload is kept.
    edited = sign_credentials(
        encode_mp3(made.result.samples, 48000),
        "mp3",
        made.manifest,
        forger,
        delivery={**genuine, "render_id": "r-1"},
    )
    ok, reason = verify_delivery(edited, "mp3", made.public)
    assert not ok and "fields are not the statement it signs" in reason, reason


def test_a_changed_stem_in_the_zip_fails_the_package(made: Made) -> None:
    with zipfile.ZipFile(io.BytesIO(made.zip)) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    entries["stems/02-harmony.wav"] = _flip(entries["stems/02-harmony.wav"], 300)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    ok, lines = verify_stems_package(out.getvalue(), made.public)
    assert not ok and "stems/02-harmony.wav is not the file the manifest lists" in lines[-1]


def test_renderer_verify_checks_an_mp3_a_stem_and_the_zip(made: Made, tmp_path: Path) -> None:
    key = tmp_path / "render.pub.pem"
    key.write_bytes(made.public)
    files = {"mix.mp3": made.mp3, "rhythm.wav": made.stem(), "stems.zip": made.zip}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        done = cli("verify", str(tmp_path / name), "--public-key", str(key))
        assert done.returncode == 0, done.stdout + done.stderr
        assert ": ok:" in done.stdout
    master = tmp_path / "mix.wav"
    master.write_bytes(made.master)
    assert cli("verify", str(master), "--public-key", str(key)).returncode == 0
    (tmp_path / "bad.mp3").write_bytes(_flip(made.mp3, len(made.mp3) - 5000))
    done = cli("verify", str(tmp_path / "bad.mp3"), "--public-key", str(key))
    assert done.returncode == 1 and "FAILED: the Content Credentials do not validate" in done.stderr
    # Never a key from beside the file: without one, it refuses to check at all.
    (tmp_path / "mix.pub.pem").write_bytes(made.public)
    done = cli("verify", str(tmp_path / "mix.mp3"))
    assert done.returncode == 2 and "no public key" in done.stderr
    other = tmp_path / "other.pub.pem"
    other.write_bytes(generate_keypair()[1])
    done = cli("verify", str(tmp_path / "stems.zip"), "--public-key", str(other))
    assert done.returncode == 1 and "not by key" in done.stderr


def test_node_verifies_the_mp3s_and_a_stems_delivery_statement(made: Made, tmp_path: Path) -> None:
    key = tmp_path / "render.pub.pem"
    key.write_bytes(made.public)
    master_sha256 = hashlib.sha256(made.master).hexdigest()
    for name, data in (("mix.mp3", made.mp3), ("rhythm.wav", made.stem())):
        (tmp_path / name).write_bytes(data)
        done = node_verify(tmp_path / name, key)
        assert done.returncode == 0, done.stderr
        summary = json.loads(done.stdout)
        assert summary["render_id"] == "r-9" and summary["audio"] == "matches"
        assert summary["master"]["file_sha256"] == master_sha256
    assert json.loads(node_verify(tmp_path / "rhythm.wav", key).stdout)["role_group"] == "rhythm"


def test_node_refuses_a_changed_frame_a_stripped_store_or_another_key(
    made: Made, tmp_path: Path
) -> None:
    key = tmp_path / "render.pub.pem"
    key.write_bytes(made.public)
    other = tmp_path / "other.pub.pem"
    other.write_bytes(generate_keypair()[1])
    cases = {
        "frame.mp3": (_flip(made.mp3, len(made.mp3) - 5000), key, "does not match the signed"),
        "stripped.mp3": (made.mp3[c2pa_id3_length(made.mp3, "mp3") :], key, "no Content Cred"),
        "sample.wav": (_flip(made.stem(), 200), key, "does not match the signed statement"),
        "other.mp3": (made.mp3, other, "not by key"),
    }
    for name, (data, with_key, reason) in cases.items():
        (tmp_path / name).write_bytes(data)
        done = node_verify(tmp_path / name, with_key)
        assert done.returncode == 1 and reason in done.stderr, (name, done.stderr)


def _syncsafe(value: int) -> bytes:
    return bytes((value >> shift) & 0x7F for shift in (21, 14, 7, 0))


def test_an_id3_frame_hidden_beside_the_mp3s_credentials_fails(made: Made) -> None:
    end = c2pa_id3_length(made.mp3, "mp3")
    frame_body = b"\x03note\x00hidden"
    frame = b"TXXX" + _syncsafe(len(frame_body)) + b"\x00\x00" + frame_body
    body = made.mp3[10:end] + frame
    tampered = made.mp3[:6] + _syncsafe(len(body)) + body + made.mp3[end:]
    ok, reason = verify_delivery(tampered, "mp3", made.public)
    assert not ok and "before the MP3 stream may hold only the Content Credentials" in reason
