"""The contribute form, the stems API and pages, and who may see what."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.urls import reverse

from portal.jobs.models import Job
from portal.stems.models import Stem, StemStatus
from tests.factories.audio import encode, tone_loop
from tests.factories.contributions import ATTESTED, FORM_OK, meta, upload
from tests.helpers.storage import stored_files


def test_the_form_shows_the_license_terms_and_every_statement(artist, client_for, license_v1):
    page = client_for(artist).get("/contribute/")
    assert page.status_code == 200
    html = page.content.decode()
    assert license_v1.terms in html and license_v1.terms_sha256 in html
    assert 'type="file"' in html and "multiple" in html
    assert "was not generated" in html and "upload-progress" in html
    assert 'for="id_made_it_and_holds_rights"' in html


def test_an_artist_contributes_through_the_form(artist, other_artist, client_for, license_v1):
    data = {
        **FORM_OK,
        "title": "",
        "credits": f"{artist.username} 75\n{other_artist.username} 25",
        "audio_files": [upload(encode(tone_loop(seed=60)), "sub_bass.wav")],
    }
    response = client_for(artist).post("/contribute/", data, REMOTE_ADDR="192.0.2.44")
    stem = Stem.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/stems/{stem.pk}/"
    assert stem.title == "sub bass"
    assert stem.moods == ["dark", "tense"] and stem.bpm == 120
    assert dict(stem.credits.values_list("artist__username", "split_bps")) == {
        artist.username: 7500,
        other_artist.username: 2500,
    }
    assert stem.receipt.body["ip_address"] == "192.0.2.44"


def test_several_files_through_the_form_get_titles_from_their_names(artist, client_for, license_v1):
    data = {
        **FORM_OK,
        "title": "Night pack",
        "audio_files": [
            upload(encode(tone_loop(seed=61)), "kick_a.wav"),
            upload(encode(tone_loop(seed=62)), "kick_b.wav"),
        ],
    }
    response = client_for(artist).post("/contribute/", data)
    assert response.status_code == 302 and response["Location"] == "/stems/"
    assert sorted(Stem.objects.values_list("title", flat=True)) == [
        "Night pack – kick a",
        "Night pack – kick b",
    ]


def _rows(count: int, **fields: str) -> dict[str, str]:
    """The per-file rows the contribute page's script adds (a Django formset, prefix "file")."""
    return {"file-TOTAL_FORMS": str(count), "file-INITIAL_FORMS": "0", **fields}


def test_several_files_take_their_own_details_from_the_rows(artist, client_for, license_v1):
    data = {
        **FORM_OK,
        "title": "Night pack",
        "audio_files": [
            upload(encode(tone_loop(seed=65)), "kick_a.wav"),
            upload(encode(tone_loop(seed=66)), "kick_b.wav"),
            upload(encode(tone_loop(seed=67)), "kick_c.wav"),
        ],
        **_rows(
            3,
            **{
                "file-0-title": "Low kick",
                "file-0-bpm": "60",
                "file-0-bars": "1",
                "file-1-role": "drums",
                "file-1-musical_key": "Am",
            },
        ),
    }
    response = client_for(artist).post("/contribute/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    stems = {s.original_filename: s for s in Stem.objects.all()}
    a, b, c = stems["kick_a.wav"], stems["kick_b.wav"], stems["kick_c.wav"]
    assert (a.title, a.bpm, a.bars, a.role, a.musical_key) == ("Low kick", 60, 1, "bass", "F#m")
    assert (b.title, b.bpm, b.bars, b.role, b.musical_key) == (
        "Night pack – kick b",
        120,
        2,
        "drums",
        "Am",
    )
    assert (c.title, c.bpm, c.role, c.musical_key) == ("Night pack – kick c", 120, "bass", "F#m")
    # The moods, genres and description are shared by every file.
    assert {tuple(s.moods) for s in stems.values()} == {("dark", "tense")}


@pytest.mark.parametrize(
    ("rows", "words"),
    [
        (_rows(3), "name 3 files but 2 were sent; choose the files again"),
        (_rows(2, **{"file-1-bpm": "fast"}), "kick_b.wav: BPM: Enter a number."),
        (_rows(2, **{"file-0-bpm": "900"}), "kick_a.wav: The BPM must be between 20 and 300."),
        (_rows(2, **{"file-1-role": "kazoo"}), "kick_b.wav: Role: Select a valid choice."),
    ],
)
def test_bad_per_file_details_name_the_file_and_save_nothing(
    artist, client_for, license_v1, rows, words
):
    data = {
        **FORM_OK,
        "audio_files": [
            upload(encode(tone_loop(seed=68)), "kick_a.wav"),
            upload(encode(tone_loop(seed=69)), "kick_b.wav"),
        ],
        **rows,
    }
    response = client_for(artist).post("/contribute/", data)
    assert response.status_code == 400
    assert words in response.content.decode()
    assert Stem.objects.count() == 0 and stored_files() == []


def test_without_rows_a_single_file_takes_the_shared_details(artist, client_for, license_v1):
    # What the page sends for one file: the formset's management form with no rows.
    data = {**FORM_OK, "title": "Solo", "audio_files": [upload(encode(tone_loop(seed=70)))]}
    response = client_for(artist).post("/contribute/", {**data, **_rows(0)})
    assert response.status_code == 302
    assert Stem.objects.get().title == "Solo"


def test_the_upload_script_gets_json_with_where_to_go(artist, client_for, license_v1):
    data = {**FORM_OK, "audio_files": [upload(encode(tone_loop(seed=63)))]}
    response = client_for(artist).post("/contribute/", data, HTTP_X_REQUESTED_WITH="XMLHttpRequest")
    assert response.status_code == 201
    assert response.json() == {"redirect": f"/stems/{Stem.objects.get().pk}/"}


@pytest.mark.parametrize(
    ("change", "words", "field"),
    [
        ({"audio_files": [upload(b"", "empty.wav")]}, "empty", "audio_files"),
        ({"credits": "alice 50\nbob 40"}, "add up to 90.00%", "credits"),
        ({"credits": "alice fifty"}, "should be a username and a percentage", "credits"),
        ({"not_ai_generated": ""}, "not generated", "not_ai_generated"),
        ({"accept_terms": ""}, "Accept the terms of license version 1", "accept_terms"),
        ({"bpm": ""}, "needs its tempo", "bpm"),
    ],
)
def test_bad_input_on_the_form_says_what_to_fix_and_saves_nothing(
    artist, other_artist, client_for, license_v1, change, words, field
):
    data = {**FORM_OK, "audio_files": [upload(encode(tone_loop(seed=64)))], **change}
    if data.get("not_ai_generated") == "":
        del data["not_ai_generated"]
    if data.get("accept_terms") == "":
        del data["accept_terms"]
    response = client_for(artist).post("/contribute/", data)
    assert response.status_code == 400
    html = response.content.decode()
    assert words in html
    assert response.context["form"].errors.get(field)
    assert Stem.objects.count() == 0 and stored_files() == []


def test_curators_cannot_open_the_contribute_form(curator, client_for, license_v1):
    assert client_for(curator).get("/contribute/").status_code == 403


# --- API -----------------------------------------------------------------------------------------


def api_payload(*files: Any, **extra: Any) -> dict[str, Any]:
    return {
        "files": list(files),
        "metadata": json.dumps(meta(title="")),
        "license_version": 1,
        **{k: ("true" if v is True else v) for k, v in ATTESTED.items()},
        **extra,
    }


def test_an_artist_contributes_through_the_api(artist, other_artist, api_for, license_v1):
    api = api_for(artist)
    credits = [
        {"artist": artist.username, "split_percent": "50.5"},
        {"artist": other_artist.username, "split_percent": "49.5"},
    ]
    response = api.post(
        "/api/v1/stems/",
        api_payload(
            upload(encode(tone_loop(seed=65)), "one.wav"),
            upload(encode(tone_loop(seed=66), fmt="FLAC"), "two.flac"),
            credits=json.dumps(credits),
        ),
        format="multipart",
    )
    assert response.status_code == 201, response.content
    stems = response.json()["stems"]
    assert [s["title"] for s in stems] == ["one", "two"]
    assert all(s["status"] == "processing" for s in stems)
    for body in stems:
        job = Job.objects.get(pk=body["job"]["id"])
        assert job.args == {"stem_id": body["id"]}
    assert sorted(
        Stem.objects.get(pk=stems[0]["id"]).credits.values_list("split_bps", flat=True)
    ) == [4950, 5050]


def test_api_refusals_use_the_error_shape_and_leave_nothing(artist, api_for, license_v1):
    response = api_for(artist).post(
        "/api/v1/stems/",
        api_payload(upload(b"RIFF\x00\x00\x00\x00WAVEjunk", "bad.wav")),
        format="multipart",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] in {"truncated", "not_audio", "header_mismatch"}
    assert "bad.wav" in error["message"]
    assert Stem.objects.count() == 0 and stored_files() == []


def test_a_duplicate_through_the_api_is_a_409(artist, api_for, license_v1):
    data = encode(tone_loop(seed=67))
    api = api_for(artist)
    assert (
        api.post("/api/v1/stems/", api_payload(upload(data)), format="multipart").status_code == 201
    )
    again = api.post("/api/v1/stems/", api_payload(upload(data)), format="multipart")
    assert again.status_code == 409 and again.json()["error"]["code"] == "duplicate"


def test_the_api_lists_my_stems_paginated_and_shows_detail(artist, submit, api_for, run_jobs):
    mine = [submit(artist, upload(encode(tone_loop(seed=s))))[0] for s in (68, 69, 70)]
    run_jobs()
    api = api_for(artist)
    page = api.get("/api/v1/stems/?page_size=2").json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]
    detail = api.get(f"/api/v1/stems/{mine[0].pk}/").json()
    assert detail["status"] == "in_review"
    assert detail["analysis"]["sample_rate"] == 48000
    assert {c["check_name"] for c in detail["checks"]} >= {"near_duplicate", "self_output"}
    assert detail["job"]["status"] == "done" and detail["job"]["progress"] == 100
    assert [(c["artist"], c["split_bps"], c["consent"]) for c in detail["credits"]] == [
        (artist.username, 10000, "accepted")
    ]


def test_withdrawing_through_the_api(artist, submit, api_for, run_jobs):
    (stem,) = submit(artist, upload(encode(tone_loop(seed=71))))
    run_jobs()
    response = api_for(artist).post(f"/api/v1/stems/{stem.pk}/withdraw/")
    assert response.status_code == 200 and response.json()["status"] == "withdrawn"
    stem.refresh_from_db()
    assert stem.withdrawn_at is not None and not stem.is_renderable


def test_the_receipt_downloads_as_json(artist, submit, api_for):
    (stem,) = submit(artist, upload(encode(tone_loop(seed=72))))
    response = api_for(artist).get(f"/api/v1/stems/{stem.pk}/receipt/")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    body = json.loads(response.content)
    assert body["audio"]["pcm_sha256"] == stem.pcm_sha256
    assert body["license"]["terms_sha256"] == stem.submission.license.terms_sha256


def test_the_audio_downloads_for_its_artist(artist, submit, api_for, client_for):
    data = encode(tone_loop(seed=73))
    (stem,) = submit(artist, upload(data))
    for response in (
        api_for(artist).get(f"/api/v1/stems/{stem.pk}/audio/", HTTP_ACCEPT="audio/*"),
        client_for(artist).get(f"/stems/{stem.pk}/audio/"),
    ):
        if response.status_code == 302:  # S3: a short-lived signed URL
            assert "X-Amz-Expires" in response["Location"] or "Expires" in response["Location"]
        else:
            assert response.status_code == 200
            assert b"".join(response.streaming_content) == data
            assert response["Content-Type"] == "audio/wav"


def test_licenses_are_public(api_for, license_v1):
    body = api_for(None).get("/api/v1/licenses/").json()
    assert body == [
        {
            "version": 1,
            "title": license_v1.title,
            "terms": license_v1.terms,
            "terms_sha256": license_v1.terms_sha256,
            "is_current": True,
            "published_at": body[0]["published_at"],
        }
    ]


# --- Pages ---------------------------------------------------------------------------------------


def test_a_new_artist_sees_how_to_start(artist, client_for):
    html = client_for(artist).get("/stems/").content.decode()
    assert "You have not contributed a stem yet" in html and "/contribute/" in html


def test_my_stems_page_lists_status_badges(artist, submit, client_for, run_jobs):
    (stem,) = submit(artist, upload(encode(tone_loop(seed=74))))
    run_jobs()
    html = client_for(artist).get("/stems/").content.decode()
    assert stem.title in html and 'class="badge in_review"' in html


def test_the_stem_page_shows_waveform_player_analysis_report_and_receipt(
    artist, submit, client_for, run_jobs
):
    (stem,) = submit(artist, upload(encode(tone_loop(seed=75))))
    run_jobs()
    html = client_for(artist).get(f"/stems/{stem.pk}/").content.decode()
    assert '<svg class="waveform"' in html and '<path d="M0,1 L0,' in html
    assert f'<audio controls preload="none" src="/stems/{stem.pk}/audio/"' in html
    assert "Integrated loudness" in html and "LUFS" in html
    assert "Platform&#x27;s own output" in html or "Platform's own output" in html
    assert f"/stems/{stem.pk}/receipt/" in html
    assert f"/stems/{stem.pk}/withdraw/" in html


def test_a_processing_stem_page_polls_its_job(artist, submit, client_for):
    (stem,) = submit(artist, upload(encode(tone_loop(seed=76))))
    html = client_for(artist).get(f"/stems/{stem.pk}/").content.decode()
    assert f'data-job-url="/api/v1/jobs/{stem.provenance_job_id}/"' in html
    assert "<progress" in html


def test_a_rejected_stems_page_shows_the_reason(artist, submit, client_for, run_jobs):
    from portal.stems.services.rendered_audio import rendered_audio_register

    mix = tone_loop(12.0, seed=77)
    rendered_audio_register(key="mix:page", samples=mix, sample_rate=48000)
    (stem,) = submit(artist, upload(encode(mix[48000 * 3 : 48000 * 9])))
    run_jobs()
    html = client_for(artist).get(f"/stems/{stem.pk}/").content.decode()
    assert "This stem was rejected" in html and "never ingests its own output" in html


def test_withdrawing_through_the_page_asks_first(artist, submit, client_for):
    (stem,) = submit(artist, upload(encode(tone_loop(seed=78))))
    browser = client_for(artist)
    confirm = browser.get(f"/stems/{stem.pk}/withdraw/")
    assert confirm.status_code == 200 and b"Yes, withdraw this stem" in confirm.content
    stem.refresh_from_db()
    assert stem.status == StemStatus.PROCESSING
    assert browser.post(f"/stems/{stem.pk}/withdraw/").status_code == 302
    stem.refresh_from_db()
    assert stem.status == StemStatus.WITHDRAWN


# --- Who may see what ----------------------------------------------------------------------------

READERS = {"artist", "curator", "staff"}


@pytest.fixture
def alices_stem(artist: Any, submit: Any) -> Stem:
    return submit(artist, upload(encode(tone_loop(seed=79))))[0]


@pytest.mark.parametrize(
    "path", ["/api/v1/stems/{pk}/", "/api/v1/stems/{pk}/receipt/", "/api/v1/stems/{pk}/audio/"]
)
def test_api_reads_of_a_stem_by_role(any_role, alices_stem, api_for, path):
    role, user = any_role
    response = api_for(user).get(path.format(pk=alices_stem.pk))
    if role == "anonymous":
        assert response.status_code == 401
    elif role in READERS:
        assert response.status_code in (200, 302)
    else:
        assert response.status_code == 404


def test_api_withdraw_by_role(any_role, alices_stem, api_for):
    role, user = any_role
    response = api_for(user).post(f"/api/v1/stems/{alices_stem.pk}/withdraw/")
    expected = {"artist": 200, "curator": 403, "staff": 403, "anonymous": 401}.get(role, 404)
    assert response.status_code == expected
    alices_stem.refresh_from_db()
    assert (alices_stem.status == StemStatus.WITHDRAWN) == (role == "artist")


def test_api_contribute_and_list_by_role(any_role, api_for, license_v1, alices_stem):
    role, user = any_role
    api = api_for(user)
    listed = api.get("/api/v1/stems/")
    created = api.post(
        "/api/v1/stems/", api_payload(upload(encode(tone_loop(seed=80)))), format="multipart"
    )
    if role == "anonymous":
        assert listed.status_code == 401 and created.status_code == 401
        return
    assert listed.status_code == 200
    ids = [s["id"] for s in listed.json()["results"]]
    assert (alices_stem.pk in ids) == (role == "artist")
    is_artist = role in {"artist", "other_artist", "outsider"}
    assert created.status_code == (201 if is_artist else 403)


def test_an_app_credential_cannot_use_the_stems_api(artist, app_api, alices_stem):
    from tests.factories.clients import ClientAppFactory

    assert (
        app_api(ClientAppFactory(owner=artist, name="Alice's app"))
        .get("/api/v1/stems/")
        .status_code
        == 403
    )


@pytest.mark.parametrize(
    "path", ["/stems/{pk}/", "/stems/{pk}/audio/", "/stems/{pk}/receipt/", "/stems/{pk}/withdraw/"]
)
def test_stem_pages_by_role(any_role, alices_stem, client_for, path):
    role, user = any_role
    response = client_for(user).get(path.format(pk=alices_stem.pk))
    if role == "anonymous":
        assert response.status_code == 302 and "/login/" in response["Location"]
    elif role in READERS:
        # Curators and staff read; the withdraw page sends them back to the stem.
        assert response.status_code in (200, 302)
        if path.endswith("withdraw/") and role != "artist":
            assert response["Location"] == f"/stems/{alices_stem.pk}/"
    else:
        assert response.status_code == 404


def test_curators_see_any_stem_read_only(curator, alices_stem, client_for):
    html = client_for(curator).get(f"/stems/{alices_stem.pk}/").content.decode()
    assert "read-only" in html
    assert f"/stems/{alices_stem.pk}/withdraw/" not in html
    assert "data-job-url" not in html  # the job belongs to the artist


def test_withdraw_posts_by_others_change_nothing(any_role, alices_stem, client_for):
    role, user = any_role
    client_for(user).post(f"/stems/{alices_stem.pk}/withdraw/")
    alices_stem.refresh_from_db()
    assert (alices_stem.status == StemStatus.WITHDRAWN) == (role == "artist")


def test_list_and_contribute_pages_need_a_login(client, license_v1):
    for path in ("/stems/", "/contribute/"):
        response = client.get(path)
        assert response.status_code == 302 and reverse("accounts:login") in response["Location"]
