"""Demo review: cora, the demo curator, claims and approves every demo stem still in review.

Runs after the stems seeder. Idempotent: only stems still in review are touched, so a second run
finds nothing to do. Stems with a failed check are left for a person (the rules refuse them).
"""

from __future__ import annotations

from typing import Any

from portal.accounts.models import User
from portal.core.errors import ApplicationError
from portal.review.models import DecisionKind
from portal.review.services.claims import review_claim
from portal.review.services.decisions import stem_decide
from portal.stems.models import Stem, StemStatus, Verdict

DEMO_CURATOR = "cora"
FLAG_JUSTIFICATION = (
    "Demo material synthesised by the project itself: the flag is a quality heuristic on a "
    "synthetic signal, listened to and accepted."
)


def seed(*, out: Any) -> None:
    curator = User.objects.filter(username=DEMO_CURATOR).first()
    if curator is None:
        out.write("review: no demo curator (run the accounts seeder first)")
        return
    approved = 0
    for stem in Stem.objects.filter(status=StemStatus.IN_REVIEW).order_by("pk"):
        flagged = (
            stem.provenance_verdict == Verdict.FLAG
            or stem.checks.filter(verdict=Verdict.FLAG).exists()
        )
        try:
            review_claim(stem=stem, curator=curator)
            stem_decide(
                stem=stem,
                curator=curator,
                decision=DecisionKind.APPROVE,
                justification=FLAG_JUSTIFICATION if flagged else "",
            )
        except ApplicationError as exc:
            out.write(f"review: left “{stem.title}” in review: {exc.message}")
            continue
        approved += 1
    out.write(f"review: {DEMO_CURATOR} approved {approved} stem(s)")
