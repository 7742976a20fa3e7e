"""An artist credited on someone else's stem is part of it: it is in their list with their share,
its page opens for them (read-only), and they hear when it enters the vault."""

from __future__ import annotations

import pytest
from django.core import mail

from portal.review.models import Notification
from portal.review.services.claims import review_claim
from portal.review.services.decisions import stem_decide
from portal.stems.models import CreditConsent, StemStatus
from tests.factories.accounts import UserFactory
from tests.factories.stems import StemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def duet(artist, other_artist):
    """Alice uploaded it and keeps 70%; Bob is credited with 30% and has accepted."""
    return StemFactory(
        artist=artist,
        title="Night duet",
        status=StemStatus.IN_REVIEW,
        credits=[(artist, 7000), (other_artist, 3000)],
    )


def test_the_stem_is_in_the_credited_artists_list_with_their_share(duet, other_artist, api_for):
    StemFactory(artist=UserFactory(username="carl"), title="Not theirs")
    body = api_for(other_artist).get("/api/v1/stems/").json()
    listed = [(row["title"], row["uploader"], row["my_share_bps"]) for row in body["results"]]
    assert listed == [("Night duet", "alice", 3000)]


def test_the_uploader_sees_their_own_share_too(duet, artist, api_for):
    body = api_for(artist).get("/api/v1/stems/").json()
    assert [(r["title"], r["my_share_bps"]) for r in body["results"]] == [("Night duet", 7000)]


def test_a_declined_credit_leaves_the_list_and_the_page(duet, other_artist, api_for):
    duet.credits.filter(artist=other_artist).update(consent=CreditConsent.DECLINED)
    api = api_for(other_artist)
    assert api.get("/api/v1/stems/").json()["results"] == []
    assert api.get(f"/api/v1/stems/{duet.pk}/").status_code == 404


def test_the_page_opens_for_the_credited_artist_and_says_whose_it_is(
    duet, artist, other_artist, client_for
):
    browser = client_for(other_artist)
    page = browser.get(f"/stems/{duet.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "credited you with 30% of its royalties (accepted)" in html
    assert f"Only {artist.display_name} can edit or withdraw it." in html
    assert f'href="/stems/{duet.pk}/edit/"' not in html
    listing = browser.get("/stems/").content.decode()
    assert "Night duet" in listing and "who credited you" in listing and "30%" in listing


def test_credit_gives_sight_not_control(duet, other_artist, api_for, client_for):
    api = api_for(other_artist)
    assert api.get(f"/api/v1/stems/{duet.pk}/").status_code == 200
    assert api.post(f"/api/v1/stems/{duet.pk}/withdraw/").status_code == 403
    assert client_for(other_artist).get(f"/stems/{duet.pk}/edit/").status_code == 404
    duet.refresh_from_db()
    assert duet.status == StemStatus.IN_REVIEW


def test_a_stranger_still_gets_a_404(duet, api_for):
    stranger = UserFactory(username="dora")
    assert api_for(stranger).get(f"/api/v1/stems/{duet.pk}/").status_code == 404


def test_approval_tells_the_credited_artist_by_notice_and_email(
    duet, artist, other_artist, curator, django_capture_on_commit_callbacks
):
    review_claim(stem=duet, curator=curator)
    with django_capture_on_commit_callbacks(execute=True):
        stem_decide(stem=duet, curator=curator, decision="approve")
    notice = Notification.objects.get(user=other_artist, stem=duet)
    assert "credited with 30%" in notice.text and "in the vault" in notice.text
    to_bob = [m for m in mail.outbox if m.to == [other_artist.email]]
    assert len(to_bob) == 1 and "on which you are credited" in to_bob[0].subject
    assert f"/stems/{duet.pk}/" in to_bob[0].body
    # The uploader gets the decision notice once, not a credited one as well.
    assert Notification.objects.filter(user=artist, stem=duet).count() == 1


def test_a_pending_credit_is_not_told_of_approval_it_has_not_accepted(
    artist, other_artist, curator
):
    stem = StemFactory(
        artist=artist,
        status=StemStatus.IN_REVIEW,
        credits=[(artist, 5000), (other_artist, 5000)],
        credit_consent=CreditConsent.PENDING,
    )
    from portal.review.notifications import notify_credited_of_approval

    assert notify_credited_of_approval(stem=stem, kind="approved") == 0
