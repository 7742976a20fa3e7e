from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from portal.accounts.services import user_create
from portal.audit.models import AuditEntry
from portal.core.errors import Conflict, PermissionDenied
from portal.review.models import ReviewClaim
from portal.review.selectors import active_claim, review_queue
from portal.review.services.claims import review_claim, review_release
from portal.stems.models import StemStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_curator(db):
    return user_create(username="cyril", role="curator", password="x-long-enough-password")


def test_a_curator_claims_a_stem_for_the_configured_time(artist, curator, make_stem, settings):
    settings.REVIEW_CLAIM_MINUTES = 45
    stem = make_stem(artist)
    before = timezone.now()
    claim = review_claim(stem=stem, curator=curator)
    assert claim.curator == curator
    assert timedelta(minutes=44) < claim.expires_at - before <= timedelta(minutes=45, seconds=5)
    entry = AuditEntry.objects.get(action="review.claimed", subject=f"stem:{stem.pk}")
    assert entry.actor == curator
    assert entry.after["curator"] == curator.username


def test_a_second_curator_gets_a_conflict_naming_the_holder_and_time(
    artist, curator, other_curator, make_stem, api_for
):
    stem = make_stem(artist)
    claim = review_claim(stem=stem, curator=curator)
    with pytest.raises(Conflict) as raised:
        review_claim(stem=stem, curator=other_curator)
    until = timezone.localtime(claim.expires_at).strftime("%H:%M")
    assert raised.value.message == f"Claimed by {curator.display_name} until {until}."

    response = api_for(other_curator).post(f"/api/v1/review/stems/{stem.pk}/claim/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "claimed"
    assert f"until {until}" in response.json()["error"]["message"]
    assert ReviewClaim.objects.get(stem=stem).curator == curator


def test_an_expired_claim_can_be_taken_over(artist, curator, other_curator, make_stem):
    stem = make_stem(artist)
    review_claim(stem=stem, curator=curator)
    ReviewClaim.objects.filter(stem=stem).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert active_claim(review_queue().get(pk=stem.pk)) is None

    claim = review_claim(stem=stem, curator=other_curator)
    assert claim.curator == other_curator
    assert ReviewClaim.objects.filter(stem=stem).count() == 1
    takeover = AuditEntry.objects.filter(action="review.claimed").order_by("-pk").first()
    assert takeover.before["curator"] == curator.username


def test_the_holder_can_renew_and_release_a_claim(artist, curator, other_curator, make_stem):
    stem = make_stem(artist)
    first = review_claim(stem=stem, curator=curator)
    renewed = review_claim(stem=stem, curator=curator)
    assert renewed.expires_at >= first.expires_at

    with pytest.raises(PermissionDenied):
        review_release(stem=stem, user=other_curator)
    review_release(stem=stem, user=curator)
    assert not ReviewClaim.objects.filter(stem=stem).exists()
    assert AuditEntry.objects.filter(action="review.released", actor=curator).count() == 1
    review_claim(stem=stem, curator=other_curator)  # free for anyone now


def test_staff_can_release_anyones_claim(artist, curator, staff, make_stem, api_for):
    stem = make_stem(artist)
    review_claim(stem=stem, curator=curator)
    response = api_for(staff).delete(f"/api/v1/review/stems/{stem.pk}/claim/")
    assert response.status_code == 204
    assert not ReviewClaim.objects.filter(stem=stem).exists()


def test_a_curator_cannot_claim_a_stem_they_are_credited_on(artist, curator, make_stem):
    stem = make_stem(artist, credits=[(artist, 6000), (curator, 4000)])
    with pytest.raises(PermissionDenied) as raised:
        review_claim(stem=stem, curator=curator)
    assert raised.value.code == "credited_on_stem"


def test_only_stems_in_review_can_be_claimed(artist, curator, make_stem):
    stem = make_stem(artist, status=StemStatus.APPROVED)
    with pytest.raises(Conflict):
        review_claim(stem=stem, curator=curator)


def test_the_queue_page_shows_who_holds_a_claim_and_until_when(
    artist, curator, other_curator, make_stem, client_for
):
    stem = make_stem(artist, title="Held loop")
    claim = review_claim(stem=stem, curator=curator)
    page = client_for(other_curator).get("/review/").content.decode()
    until = timezone.localtime(claim.expires_at).strftime("%H:%M")
    assert f"Claimed by {curator.display_name} until {until}" in page

    mine = client_for(curator).get("/review/").content.decode()
    assert f"Yours until {until}" in mine


def test_the_claim_button_claims_and_a_losing_click_shows_the_holder(
    artist, curator, other_curator, make_stem, client_for
):
    stem = make_stem(artist)
    response = client_for(curator).post(f"/review/stems/{stem.pk}/claim/")
    assert response.status_code == 302
    assert response["Location"] == f"/review/stems/{stem.pk}/"
    loser = client_for(other_curator)
    response = loser.post(f"/review/stems/{stem.pk}/claim/", follow=True)
    assert f"Claimed by {curator.display_name} until" in response.content.decode()
    assert ReviewClaim.objects.get(stem=stem).curator == curator
