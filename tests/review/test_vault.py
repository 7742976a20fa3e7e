from __future__ import annotations

import pytest
from django.core import mail

from portal.audit.models import AuditEntry
from portal.core.errors import ApplicationError, Conflict
from portal.review.models import Notification, Takedown
from portal.review.services.takedowns import stem_takedown
from portal.stems.models import StemStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def vault(artist, other_artist, make_stem):
    return {
        "kick": make_stem(
            artist,
            title="Kick groove",
            status=StemStatus.APPROVED,
            role="drums",
            bpm=90,
            musical_key="",
            moods=["dark"],
            genres=["techno"],
        ),
        "bass": make_stem(
            artist,
            title="Deep bass",
            status=StemStatus.APPROVED,
            role="bass",
            bpm=124,
            musical_key="Am",
            moods=["dark", "tense"],
            genres=["house"],
            credits=[(artist, 7000), (other_artist, 3000)],
        ),
        "pad": make_stem(
            other_artist,
            title="Warm pad",
            status=StemStatus.APPROVED,
            role="harmony",
            kind="stem",
            bpm=None,
            musical_key="C",
            moods=["calm"],
            genres=["ambient"],
        ),
        "pending": make_stem(artist, title="Pending bass", role="bass", bpm=124, musical_key="Am"),
    }


def _titles(api, query: str = "") -> set[str]:
    response = api.get(f"/api/v1/vault/{query}")
    assert response.status_code == 200, response.content
    return {item["title"] for item in response.json()["results"]}


def test_the_vault_holds_approved_stems_with_license_and_credits(vault, curator, api_for):
    response = api_for(curator).get("/api/v1/vault/?q=deep")
    [item] = response.json()["results"]
    assert item["license"]["version"] == vault["bass"].submission.license.version
    assert item["license"]["terms_sha256"] == vault["bass"].submission.license.terms_sha256
    assert sorted(c["split_bps"] for c in item["credits"]) == [3000, 7000]
    assert _titles(api_for(curator)) == {"Kick groove", "Deep bass", "Warm pad"}


def test_the_vault_is_searchable(vault, curator, api_for):
    api = api_for(curator)
    assert _titles(api, "?role=bass") == {"Deep bass"}
    assert _titles(api, "?kind=stem") == {"Warm pad"}
    assert _titles(api, "?bpm_min=100") == {"Deep bass"}
    assert _titles(api, "?bpm_max=100") == {"Kick groove"}
    assert _titles(api, "?bpm_min=80&bpm_max=130") == {"Kick groove", "Deep bass"}
    assert _titles(api, "?key=am") == {"Deep bass"}
    assert _titles(api, "?mood=dark") == {"Kick groove", "Deep bass"}
    assert _titles(api, "?genre=ambient") == {"Warm pad"}
    assert _titles(api, "?q=GROOVE") == {"Kick groove"}
    assert api.get("/api/v1/vault/?bpm_min=fast").status_code == 400


def test_the_vault_page_searches_the_same_way(vault, curator, client_for):
    page = client_for(curator).get("/vault/?mood=dark&bpm_min=100").content.decode()
    assert "Deep bass" in page
    assert "Kick groove" not in page and "Warm pad" not in page and "Pending bass" not in page
    assert "Take down" not in page  # curators see the vault; only staff take stems down


def test_staff_take_a_stem_down_and_it_leaves_future_renders(
    vault, artist, staff, api_for, django_capture_on_commit_callbacks
):
    stem = vault["kick"]
    with django_capture_on_commit_callbacks(execute=True):
        response = api_for(staff).post(
            f"/api/v1/vault/{stem.pk}/takedown/",
            {"reason": "Rights claim from a label."},
            format="json",
        )
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "taken_down"
    stem.refresh_from_db()
    assert stem.status == StemStatus.TAKEN_DOWN
    assert not stem.is_renderable
    assert "Kick groove" not in _titles(api_for(staff))
    assert AuditEntry.objects.filter(action="stem.taken_down", stem=stem).exists()
    entry = AuditEntry.objects.get(action="vault.takedown")
    assert entry.actor == staff
    assert entry.before["status"] == "approved" and entry.after["status"] == "taken_down"
    assert entry.after["reason"] == "Rights claim from a label."
    notice = Notification.objects.get(user=artist, kind="taken_down")
    assert "Rights claim" in notice.text
    assert mail.outbox[0].to == [artist.email]
    assert "Rights claim from a label." in mail.outbox[0].body


def test_a_takedown_needs_a_reason_and_an_approved_stem(vault, staff):
    with pytest.raises(ApplicationError):
        stem_takedown(stem=vault["pad"], staff=staff, reason="  ")
    with pytest.raises(Conflict):
        stem_takedown(stem=vault["pending"], staff=staff, reason="Not in the vault")
    stem_takedown(stem=vault["pad"], staff=staff, reason="Duplicate")
    with pytest.raises(Conflict):
        stem_takedown(stem=vault["pad"], staff=staff, reason="Twice")
    assert Takedown.objects.count() == 1


def test_the_takedown_button_on_the_vault_page(vault, staff, client_for):
    browser = client_for(staff)
    assert "Take down" in browser.get("/vault/").content.decode()
    response = browser.post(
        f"/vault/{vault['bass'].pk}/takedown/", {"reason": "Uncleared"}, follow=True
    )
    assert "was taken down" in response.content.decode()
    vault["bass"].refresh_from_db()
    assert vault["bass"].status == StemStatus.TAKEN_DOWN
