"""The provenance job moves a stem's status through stem_transition, like every other move."""

from __future__ import annotations

from typing import Any

import pytest

from portal.audit.models import AuditEntry
from portal.stems import provenance
from portal.stems.models import StemStatus
from tests.factories.audio import encode, tone_loop
from tests.factories.contributions import upload


def test_the_provenance_job_moves_the_stem_into_review_through_stem_transition(
    artist: Any, submit: Any, run_jobs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    moves: list[tuple[str, str]] = []
    real = provenance.stem_transition

    def recording(**kwargs: Any) -> Any:
        moves.append((kwargs["stem"].status, kwargs["to"]))
        return real(**kwargs)

    monkeypatch.setattr(provenance, "stem_transition", recording)
    (stem,) = submit(artist, upload(encode(tone_loop(seed=57))))
    run_jobs()

    stem.refresh_from_db()
    assert stem.status == StemStatus.IN_REVIEW
    assert moves == [(StemStatus.PROCESSING, StemStatus.IN_REVIEW)]
    entry = AuditEntry.objects.get(subject=f"stem:{stem.pk}", action="stem.in_review")
    assert entry.before == {"status": StemStatus.PROCESSING}
    assert entry.after["provenance_verdict"] == stem.provenance_verdict
    assert set(entry.after["checks"]) >= {"exact_duplicate", "near_duplicate", "quality"}
