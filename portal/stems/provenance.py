"""Provenance: analyse a contributed stem and judge where it comes from.

Six checks run on every stem in `processing`, each recorded as a ProvenanceCheck (verdict, a
sentence a person can read, evidence): exact_duplicate, near_duplicate, containment,
self_output, metadata and quality (the matching checks are in `portal.stems.provenance_checks`,
quality in `portal.stems.checks`). Any fail rejects the stem with the reason shown to the
artist; otherwise it goes to curators (in_review) marked flag or pass. This module is the job
that runs them and records the result.

Of two copies of one sound, the one submitted first is the original, whichever job finishes
first: a stem is only ever judged a copy of stems submitted before it (an exact copy is refused
at submission by the unique PCM hash). A stem's checks that run before an earlier submission's
were judged without it, so when the earlier one's checks find it, its near-duplicate check is
judged again (`_rejudge_later_copy`). Judging takes one lock for everyone, so two jobs running
at once cannot each miss the other.

Rejection reasons are shown to the uploader as they are stored, so they never name another
artist's stem (the checks' summaries never do).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import connection, transaction

from portal.audit.services import audit_record
from portal.jobs.services import job_claim_assert
from portal.stems.checks import check_quality, check_record
from portal.stems.fingerprint_indexes import render_matches, stem_matches
from portal.stems.models import CheckName, Stem, StemStatus, Verdict
from portal.stems.provenance_checks import (
    check_containment,
    check_exact_duplicate,
    check_metadata,
    check_near_duplicate,
    check_self_output,
    load_stem_audio,
)
from portal.stems.services.lifecycle import stem_transition
from renderer.analysis import analyze
from renderer.fingerprint import Fingerprint, fingerprint

logger = logging.getLogger(__name__)

# pg_advisory_xact_lock's key for judging uploads against each other (any constant will do).
JUDGING_LOCK = 0x5356_4A44  # "SVJD"


def _judge_one_at_a_time() -> None:
    """Take the judging lock until the transaction ends.

    Two copies checked at the same moment would each look before the other's fingerprint was
    stored, and neither would be flagged. Matching and storing the result therefore run under
    one lock: whoever comes second sees the first's fingerprint. On PostgreSQL that is an
    advisory lock released at commit or rollback; on SQLite the transaction itself holds the
    database's write lock from BEGIN (transaction_mode IMMEDIATE, see settings).
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [JUDGING_LOCK])


def _overall(verdicts: set[str]) -> str:
    """A stem's verdict: its worst check's."""
    for worst in (Verdict.FAIL, Verdict.FLAG):
        if worst in verdicts:
            return worst
    return Verdict.PASS


def _rejudge_later_copy(later: Stem, *, original: Stem, original_fp: Fingerprint) -> None:
    """`later` was submitted after `original` but judged before it, without it. Judge its
    near-duplicate check again with `original` (whose fingerprint is not stored yet) to compare
    with, and act on a new verdict: a stem still before curators is rejected for a copy of
    another artist's sound, or flagged for a near copy of the artist's own; a stem already past
    review keeps its status, and the audit entry tells staff."""
    rows = Stem.objects.select_for_update(of=("self",)).select_related("artist")
    locked = rows.get(pk=later.pk)
    if locked.fingerprint is None:
        return
    try:
        _, audio = load_stem_audio(locked)
    except Exception:  # its file is gone: nothing to compare, its own result stands
        logger.warning("re-judging stem %s: could not load its audio", locked.pk)
        return
    try:
        fp = Fingerprint.from_bytes(bytes(locked.fingerprint))
    except ValueError:  # an older format: the fingerprint of the audio just loaded
        fp = fingerprint(audio.samples, audio.sample_rate)
    near = check_near_duplicate(locked, audio, fp, also=[(original, original_fp)]).result
    if near.verdict == Verdict.PASS:
        return  # `original` is a layer of it at most, not its source: its result stands
    check_record(locked, near)
    verdict = _overall(set(locked.checks.values_list("verdict", flat=True)))
    before = {"status": locked.status, "provenance_verdict": locked.provenance_verdict}
    Stem.objects.filter(pk=locked.pk).update(provenance_verdict=verdict)
    if near.verdict == Verdict.FAIL and locked.status in (
        StemStatus.IN_REVIEW,
        StemStatus.CHANGES_REQUESTED,
    ):
        locked = stem_transition(
            stem=locked,
            to=StemStatus.REJECTED,
            actor=None,
            reason=near.summary,
            note="An earlier submission's checks found it.",
        )
    audit_record(
        actor=None,
        action="stem.provenance_rejudged",
        subject=f"stem:{locked.pk}",
        stem=locked,
        before=before,
        after={
            "status": locked.status,
            "provenance_verdict": verdict,
            "checks": {CheckName.NEAR_DUPLICATE: near.verdict},
        },
        # The summary never names another artist's stem; staff find it in the evidence.
        note=near.summary,
    )


def provenance_run(*, stem_id: int, progress: Callable[[int], None]) -> dict[str, Any]:
    """Analyse, fingerprint and judge one stem. Idempotent: a stem that already left processing
    is skipped; a re-run after a crash recomputes and overwrites each check in place."""
    stem = Stem.objects.filter(pk=stem_id).select_related("artist").first()
    if stem is None:
        return {"skipped": "missing"}
    if stem.status != StemStatus.PROCESSING:
        return {"skipped": stem.status}
    progress(5)
    raw, audio = load_stem_audio(stem)
    progress(15)
    declared = float(stem.bpm) if stem.bpm is not None else None
    analysis = analyze(audio, kind=stem.kind, declared_bpm=declared).to_dict()
    progress(45)
    fp = fingerprint(audio.samples, audio.sample_rate)
    progress(60)
    # These depend on the upload and the platform's renders only, not on other uploads.
    # The platform's renders are matched here, judged once the near-duplicates are known.
    renders = render_matches(fp)
    own = [check_metadata(raw), check_quality(analysis)]
    progress(75)
    with transaction.atomic():
        # A worker whose job the sweeper gave to another records no verdict (it locks the job
        # row until this commits; a no-op outside a job).
        job_claim_assert()
        _judge_one_at_a_time()
        rows = Stem.objects.select_for_update(of=("self",)).select_related("artist")
        locked = rows.get(pk=stem.pk)
        if locked.status != StemStatus.PROCESSING:  # withdrawn while we worked
            return {"skipped": locked.status}
        near = check_near_duplicate(locked, audio, fp)
        layered = stem_matches(fp, contained=True)
        # Stems the upload holds explain its render matches only when it is refused as a copy
        # anyway (evidence.explaining_stems).
        refused = near.result.verdict == Verdict.FAIL
        held = {s.pk: m.matched_hashes for m, s in layered if s.pk != locked.pk and refused}
        results = [
            check_exact_duplicate(locked),
            near.result,
            check_containment(locked, fp, near.same_sound, layered),
            check_self_output(fp, copies=near.copies, found=renders, contained=held),
            *own,
        ]
        # Before this stem's fingerprint is stored: the index must never hold uncommitted rows.
        for later in near.later:
            _rejudge_later_copy(later, original=locked, original_fp=fp)
        fails = [r for r in results if r.verdict == Verdict.FAIL]
        verdict = _overall({r.verdict for r in results})
        locked.analysis = analysis
        locked.fingerprint = fp.to_bytes()
        locked.provenance_verdict = verdict
        locked.rejection_reason = " ".join(r.summary for r in fails)
        locked.save(
            update_fields=[
                "analysis",
                "fingerprint",
                "provenance_verdict",
                "rejection_reason",
                "updated_at",
            ]
        )
        for result in results:
            check_record(locked, result)
        # The status moves through stem_transition like every other move of a stem (its audit
        # entry, and the stem_entered_review signal once it is in review).
        locked = stem_transition(
            stem=locked,
            to=StemStatus.REJECTED if fails else StemStatus.IN_REVIEW,
            actor=None,
            reason=locked.rejection_reason,
            note=locked.rejection_reason,
            details={
                "provenance_verdict": verdict,
                "checks": {r.name: r.verdict for r in results},
            },
        )
    progress(95)
    return {
        "status": locked.status,
        "verdict": verdict,
        "checks": {r.name: r.verdict for r in results},
    }
