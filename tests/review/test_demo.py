from __future__ import annotations

import io

import pytest

from portal.accounts.services import user_create
from portal.review import demo
from portal.review.models import Decision
from portal.stems.models import StemStatus, Verdict

pytestmark = pytest.mark.django_db


def test_cora_approves_the_demo_stems_in_review_once(artist, make_stem):
    cora = user_create(username="cora", role="curator", password="stemvault-demo")
    clean = make_stem(artist)
    flagged = make_stem(artist, provenance_verdict=Verdict.FLAG)
    failed = make_stem(artist, checks=[("self_output", "fail", "One of our renders.", {})])
    done = make_stem(artist, status=StemStatus.APPROVED)
    out = io.StringIO()

    demo.seed(out=out)
    for stem in (clean, flagged, failed, done):
        stem.refresh_from_db()
    assert (clean.status, flagged.status) == (StemStatus.APPROVED, StemStatus.APPROVED)
    assert failed.status == StemStatus.IN_REVIEW  # the rules refuse it; a person decides
    assert Decision.objects.get(stem=flagged).justification
    assert Decision.objects.get(stem=clean).curator == cora
    assert not Decision.objects.filter(stem=done).exists()

    demo.seed(out=out)
    assert Decision.objects.count() == 2
    assert out.getvalue().endswith("cora approved 0 stem(s)")


def test_the_demo_curator_approves_only_stems_whose_credits_are_all_accepted(
    artist, other_artist, make_stem
):
    user_create(username="cora", role="curator", password="stemvault-demo")
    duo = [(artist, 5000), (other_artist, 5000)]
    waiting = make_stem(artist, title="Waiting duo", credits=duo, credit_consent="pending")
    settled = make_stem(artist, title="Settled duo", credits=duo)
    out = io.StringIO()

    demo.seed(out=out)
    waiting.refresh_from_db()
    settled.refresh_from_db()
    assert settled.status == StemStatus.APPROVED
    assert waiting.status == StemStatus.IN_REVIEW
    assert "left “Waiting duo” in review" in out.getvalue() and "@bob" in out.getvalue()
    assert set(settled.credits.values_list("consent", flat=True)) == {"accepted"}
