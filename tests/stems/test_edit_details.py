"""Artists correct each stem's details after contributing (a batch starts with shared details)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from portal.audit.models import AuditEntry
from portal.stems.models import Stem, StemStatus
from tests.factories.audio import encode, tone_loop
from tests.factories.contributions import FORM_OK, upload

EDIT = {
    "title": "Low pulse",
    "role": "percussion",
    "bpm": "120",
    "bars": "2",
    "musical_key": "Am",
    "moods": "dark, driving",
    "genres": "techno",
    "description": "The second take, with the rim.",
}


def test_one_stem_of_a_batch_gets_its_own_details(
    artist: Any, client_for: Any, license_v1: Any, run_jobs: Any
) -> None:
    client = client_for(artist)
    files = [
        upload(encode(tone_loop(seed=71)), "a.wav"),
        upload(encode(tone_loop(seed=72)), "b.wav"),
    ]
    assert client.post("/contribute/", {**FORM_OK, "audio_files": files}).status_code == 302
    first, second = Stem.objects.order_by("pk")
    assert first.status == StemStatus.PROCESSING and first.role == second.role == "bass"

    page = client.get(reverse("stems:detail", args=[second.pk])).content.decode()
    assert reverse("stems:edit", args=[second.pk]) in page
    response = client.post(reverse("stems:edit", args=[second.pk]), EDIT)
    assert response.status_code == 302
    second.refresh_from_db()
    first.refresh_from_db()
    assert (second.title, second.role, second.musical_key) == ("Low pulse", "percussion", "Am")
    assert second.moods == ["dark", "driving"]
    assert (first.role, first.title) == ("bass", "a")  # the other stem of the batch is untouched
    entry = AuditEntry.objects.get(action="stem.metadata_updated", subject=f"stem:{second.pk}")
    assert entry.before["role"] == "bass" and entry.after["role"] == "percussion"

    # The checks still finish, and the stem can still be edited while it is in review.
    run_jobs()
    second.refresh_from_db()
    assert second.status == StemStatus.IN_REVIEW
    again = client.post(reverse("stems:edit", args=[second.pk]), {**EDIT, "title": "Low pulse 2"})
    assert again.status_code == 302
    assert Stem.objects.get(pk=second.pk).title == "Low pulse 2"


def test_bad_details_say_what_to_fix_and_change_nothing(
    artist: Any, client_for: Any, submit: Any
) -> None:
    (stem,) = submit(artist, upload(encode(tone_loop(seed=73))))
    client = client_for(artist)
    response = client.post(reverse("stems:edit", args=[stem.pk]), {**EDIT, "bpm": "", "title": ""})
    assert response.status_code == 400
    html = response.content.decode()
    assert "This field is required" in html  # the title
    assert Stem.objects.get(pk=stem.pk).title == stem.title


def test_only_the_artist_edits_and_only_before_approval(
    artist: Any, other_artist: Any, staff: Any, client_for: Any, submit: Any
) -> None:
    (stem,) = submit(artist, upload(encode(tone_loop(seed=74))))
    url = reverse("stems:edit", args=[stem.pk])
    assert client_for(other_artist).post(url, EDIT).status_code == 404
    assert client_for(staff).get(url).status_code == 404  # staff read stems; they do not edit here
    Stem.objects.filter(pk=stem.pk).update(status=StemStatus.APPROVED)
    response = client_for(artist).post(url, EDIT)
    assert response.status_code == 400 and "can no longer be edited" in response.content.decode()
    assert Stem.objects.get(pk=stem.pk).title == stem.title
    detail = client_for(artist).get(reverse("stems:detail", args=[stem.pk])).content.decode()
    assert url not in detail
