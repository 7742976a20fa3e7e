"""The demo vault goes through the real pipeline and lands in review, once."""

from __future__ import annotations

import io

import pytest

from portal.stems.models import Stem, StemStatus, Verdict


@pytest.mark.slow
def test_seeding_contributes_a_varied_demo_vault_in_review_and_is_idempotent(db):
    from portal.accounts import demo as accounts_demo
    from portal.stems import demo

    accounts_demo.seed(out=io.StringIO())
    out = io.StringIO()
    demo.seed(out=out)
    stems = list(Stem.objects.all())
    assert len(stems) == len(demo.SPECS) >= 12
    assert {s.status for s in stems} == {StemStatus.IN_REVIEW}, out.getvalue()
    assert {s.provenance_verdict for s in stems} == {Verdict.PASS}, [
        (s.title, list(s.checks.exclude(verdict="pass").values_list("summary", flat=True)))
        for s in stems
        if s.provenance_verdict != Verdict.PASS
    ]
    assert {s.role for s in stems} >= {
        "drums",
        "percussion",
        "bass",
        "harmony",
        "melody",
        "texture",
    }
    assert (
        len({s.bpm for s in stems}) >= 3
        and len({s.musical_key for s in stems if s.musical_key}) >= 3
    )
    assert {s.artist.username for s in stems} == {"ada", "ben"}
    # Each demo stem credits its own artist, so nothing waits for a credited artist's yes and
    # the review seeder can approve them all.
    assert {c.consent for s in stems for c in s.credits.all()} == {"accepted"}
    assert all(s.sample_rate == 48000 and s.channels == 2 for s in stems)
    demo.seed(out=io.StringIO())
    assert Stem.objects.count() == len(stems)
