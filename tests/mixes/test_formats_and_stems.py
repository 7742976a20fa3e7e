"""A soundtrack's MP3 and stems through the Sync API: asked for in the request (REST, GraphQL,
the page), made by the render job with their own Content Credentials, stored through Django's
storage, listed in the soundtrack's files and downloaded with the same permissions as its
master; a format not offered is refused with the list of the offered ones."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from typing import Any

import pytest
import soundfile as sf
from django.core.files.storage import default_storage

from portal.mixes import rendering, services
from portal.mixes.file_names import extra_name
from portal.mixes.keys import verification_key_pem
from portal.mixes.models import Mix
from renderer.credentials import ATTRIBUTION_LABEL, DELIVERY_LABEL, MASTER_METADATA_KEY
from renderer.delivery_verify import verify_delivery, verify_stems_package
from renderer.stem_package import MANIFEST_NAME, verify_stems_zip
from tests.factories.stems import vault_of
from tests.helpers.deliveries import (
    active_manifest,
    assertion,
    band_snr_db,
    c2pa_report,
    ffmpeg_decode,
    ffprobe,
    need_ffmpeg,
    valid_but_untrusted,
)
from tests.helpers.storage import mix_outputs
from tests.helpers.sync_api import LIST_URL, detail_url, download, request_soundtrack


def _files(api: Any, mix: Mix) -> dict[str, dict[str, Any]]:
    body = api.get(detail_url(mix.pk)).json()
    return {entry["kind"]: entry for entry in body["files"]}


def _components(active: dict[str, Any]) -> set[str]:
    return {i["instance_id"] for i in active["ingredients"] if i["relationship"] == "componentOf"}


def _parent_sha256(active: dict[str, Any]) -> str:
    """The sha256 the one parentOf ingredient gives for the master it names."""
    (parent,) = [i for i in active["ingredients"] if i["relationship"] == "parentOf"]
    return str(parent["metadata"][MASTER_METADATA_KEY]["sha256"])


def _stem_ids(mix: Mix) -> set[str]:
    return {f"urn:stemvault:stem:{s['id']}" for s in mix.manifest["stems"]}


def test_an_mp3_asked_for_is_cbr_320_credentialed_and_the_master_within_codec_error(
    artist: Any, app_api: Any, client_app: Any, run_jobs: Any
) -> None:
    need_ffmpeg()
    vault_of(artist)
    mix, master = request_soundtrack(app_api, client_app, run_jobs, formats=["wav", "mp3"])
    api = app_api(client_app)
    files = _files(api, mix)
    assert list(files) == ["audio", "mp3", "manifest", "certificate", "cue_sheet"]
    assert files["mp3"]["content_type"] == "audio/mpeg"
    assert default_storage.exists(extra_name(mix, "mp3"))
    data = download(api, files["mp3"]["url"])
    stream = ffprobe(data, ".mp3")["streams"][0]
    assert stream["codec_name"] == "mp3" and int(stream["bit_rate"]) == 320_000
    report = c2pa_report(data, "audio/mpeg")
    assert valid_but_untrusted(report), report["validation_status"]
    active = active_manifest(report)
    assert _components(active) == _stem_ids(mix)
    assert assertion(active, DELIVERY_LABEL)["master_audio_sha256"] == mix.audio_sha256
    assert _parent_sha256(active) == hashlib.sha256(master).hexdigest()
    ok, reason = verify_delivery(data, "mp3", verification_key_pem())
    assert ok, reason
    assert assertion(active, ATTRIBUTION_LABEL)["render_id"] == str(mix.pk)
    # The decoded MP3 is the master, sample for sample within codec error (gapless).
    reference, _ = sf.read(io.BytesIO(master), dtype="float32", always_2d=True)
    decoded = ffmpeg_decode(data, ".mp3", reference.shape[1])
    assert decoded.shape == reference.shape
    snr = band_snr_db(reference, decoded, mix.manifest["audio"]["sample_rate"])
    assert snr > 25.0, snr


def test_stems_asked_for_come_as_a_signed_zip_of_credentialed_role_group_files(
    artist: Any, app_api: Any, client_app: Any, run_jobs: Any
) -> None:
    vault_of(artist)  # drums, bass, harmony and a texture: three role groups
    mix, master = request_soundtrack(app_api, client_app, run_jobs, format="flac", stems=True)
    api = app_api(client_app)
    files = _files(api, mix)
    assert "stems" in files and "mp3" not in files
    response = api.get(files["stems"]["url"])
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    data = b"".join(response.streaming_content)
    frames = sf.info(io.BytesIO(master)).frames
    by_role = {str(s["id"]): s["role"] for s in mix.manifest["stems"]}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        package = verify_stems_zip(archive, verification_key_pem())
        assert package["render_id"] == str(mix.pk)
        assert package["mix_audio_sha256"] == mix.audio_sha256
        groups = [entry["role_group"] for entry in package["files"]]
        assert groups == ["rhythm", "bass", "harmony"][: len(groups)] and len(groups) >= 2
        for entry in package["files"]:
            stem_file = archive.read(entry["name"])
            assert sf.info(io.BytesIO(stem_file)).frames == frames  # as long as the mix
            report = c2pa_report(stem_file, "audio/wav")
            assert valid_but_untrusted(report), report["validation_status"]
            heard = _components(active_manifest(report))
            assert heard == {f"urn:stemvault:stem:{s['id']}" for s in entry["stems"]}
            assert _parent_sha256(active_manifest(report)) == hashlib.sha256(master).hexdigest()
            for stem in entry["stems"]:
                assert stem["credits"] and stem["content_sha256"]
                assert by_role[str(stem["id"])] in {"drums", "bass", "harmony", "texture"}
        assert json.loads(archive.read(MANIFEST_NAME))["files"] == package["files"]
    ok, lines = verify_stems_package(data, verification_key_pem())
    assert ok, lines


def test_the_extra_files_download_only_for_who_may_see_the_soundtrack(
    artist: Any,
    other_artist: Any,
    app_api: Any,
    api_for: Any,
    client_app: Any,
    run_jobs: Any,
) -> None:
    vault_of(artist)
    mix, _ = request_soundtrack(app_api, client_app, run_jobs, formats=["mp3"], stems=True)
    url = f"/api/v1/soundtracks/{mix.pk}/files/mp3/"
    assert app_api(client_app).get(url).status_code == 200
    assert api_for(other_artist).get(url).status_code == 404
    from rest_framework.test import APIClient

    assert APIClient().get(url).status_code in (401, 403)
    # An MP3 alone still has a WAV master, served as the soundtrack's audio.
    assert mix.audio_format == "wav" and mix.request["formats"] == ["wav", "mp3"]


def test_a_format_not_offered_is_refused_with_the_offered_ones(
    artist: Any, api_for: Any, app_api: Any, client_app: Any, run_jobs: Any
) -> None:
    vault_of(artist)
    api = api_for(artist)
    for payload, field in (
        ({"formats": ["wav", "ogg"]}, "formats"),
        ({"format": "aac"}, "format"),
        ({"formats": ["wav", "flac"]}, "formats"),
    ):
        body = {"duration_s": 10, "mood": "calm", **payload}
        response = api.post(LIST_URL, body, format="json")
        assert response.status_code == 400, payload
        error = response.json()["error"]
        assert error["code"] == "invalid" and field in error["fields"]
    assert "wav, flac, mp3" in error["message"] or "wav or flac" in error["message"]
    refused = api.post(LIST_URL, {"duration_s": 10, "mood": "calm", "formats": ["ogg"]}, format="json")  # fmt: skip
    assert (
        "the offered formats are wav, flac, mp3" in refused.json()["error"]["fields"]["formats"][0]
    )
    assert not Mix.objects.exists()
    mix, _ = request_soundtrack(app_api, client_app, run_jobs)
    app = app_api(client_app)
    unknown = app.get(f"/api/v1/soundtracks/{mix.pk}/files/ogg/")
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "unknown_file"
    assert "wav, flac, mp3, stems" in unknown.json()["error"]["message"]
    missing = app.get(f"/api/v1/soundtracks/{mix.pk}/files/mp3/")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "file_not_requested"
    assert app.get(f"/api/v1/soundtracks/{mix.pk}/files/wav/").status_code == 200
    assert app.get(f"/api/v1/soundtracks/{mix.pk}/files/flac/").status_code == 404


GQL_REQUEST = """
mutation ($input: SoundtrackRequestInput!) {
  requestSoundtrack(input: $input) { id request }
}
"""
GQL_FILES = "query ($id: UUID!) { soundtrack(id: $id) { status files { kind url contentType } } }"


@pytest.mark.parametrize("bad", [["ogg"], None])
def test_graphql_asks_for_the_same_files_and_lists_them(
    artist: Any, app_api: Any, client_app: Any, run_jobs: Any, bad: list[str] | None
) -> None:
    vault_of(artist)
    api = app_api(client_app)

    def gql(query: str, variables: dict[str, Any]) -> Any:
        return api.post(
            "/api/v1/graphql/", {"query": query, "variables": variables}, format="json"
        ).json()

    if bad is not None:
        answer = gql(GQL_REQUEST, {"input": {"durationS": 10, "mood": "calm", "formats": bad}})
        (error,) = answer["errors"]
        assert (
            error["extensions"]["code"] == "invalid" and "formats" in error["extensions"]["fields"]
        )
        assert "wav, flac, mp3" in error["extensions"]["fields"]["formats"][0]
        return
    made = gql(
        GQL_REQUEST,
        {"input": {"durationS": 10, "mood": "calm", "formats": ["flac", "mp3"], "stems": True}},
    )["data"]["requestSoundtrack"]
    assert made["request"]["formats"] == ["flac", "mp3"] and made["request"]["stems"] is True
    run_jobs()
    soundtrack = gql(GQL_FILES, {"id": made["id"]})["data"]["soundtrack"]
    kinds = {f["kind"]: f for f in soundtrack["files"]}
    assert soundtrack["status"] == "done"
    assert kinds["audio"]["contentType"] == "audio/flac"
    assert kinds["mp3"]["contentType"] == "audio/mpeg"
    assert kinds["stems"]["contentType"] == "application/zip"
    assert download(api, kinds["mp3"]["url"])[:3] == b"ID3"  # the C2PA store's tag


def test_the_page_asks_for_an_mp3_and_stems_and_links_them(
    artist: Any, client_for: Any, run_jobs: Any
) -> None:
    vault_of(artist)
    browser = client_for(artist)
    form = browser.get("/soundtracks/").content.decode()
    assert 'type="checkbox" name="mp3"' in form and 'type="checkbox" name="stems"' in form
    response = browser.post(
        "/soundtracks/",
        {"duration_s": 10, "mood": "calm", "format": "wav", "mp3": "on", "stems": "on"},
    )
    assert response.status_code == 302, response.content[:500]
    mix = Mix.objects.get()
    assert mix.request["formats"] == ["wav", "mp3"] and mix.request["stems"] is True
    run_jobs()
    page = browser.get(f"/soundtracks/{mix.pk}/").content.decode()
    assert f"/api/v1/soundtracks/{mix.pk}/files/mp3/" in page
    assert f"/api/v1/soundtracks/{mix.pk}/files/stems/" in page
    assert browser.get(f"/api/v1/soundtracks/{mix.pk}/files/stems/").status_code == 200


def test_a_render_failing_after_its_files_were_moved_leaves_no_extra_behind_and_a_retry_works(
    artist: Any, run_jobs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault_of(artist)
    mix = services.soundtrack_request(
        user=artist,
        data={"duration_s": 8, "mood": "calm", "formats": ["wav", "mp3"], "stems": True},
    )

    def audit_down(**kwargs: Any) -> None:
        raise RuntimeError("audit log unavailable")

    # The recording transaction's last step: the master and both extras are in place by then.
    with monkeypatch.context() as patched:
        patched.setattr(rendering, "audit_record", audit_down)
        with pytest.raises(RuntimeError, match="audit log unavailable"):
            rendering.mix_render(mix_id=mix.pk, progress=lambda percent: None)
    assert mix_outputs(mix.pk) == []
    rendering.mix_render(mix_id=mix.pk, progress=lambda percent: None)
    assert sorted(mix_outputs(mix.pk)) == sorted(
        [f"mixes/{mix.pk}.wav", extra_name(mix, "mp3"), extra_name(mix, "stems")]
    )
