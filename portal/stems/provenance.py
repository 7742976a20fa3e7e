"""Provenance: analyse a contributed stem and judge where it comes from.

Six checks run on every stem in `processing`, each recorded as a ProvenanceCheck (verdict, a
sentence a person can read, evidence): exact_duplicate, near_duplicate, containment,
self_output, metadata and quality. Any fail rejects the stem with the reason shown to the
artist; otherwise it goes to curators (in_review) marked flag or pass.

Matching runs against the fingerprint indexes of `portal/stems/fingerprint_indexes.py`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from django.core.files.storage import default_storage
from django.db import transaction

from portal.audit.services import audit_record
from portal.stems.evidence import GENERATORS, explained_share, read_tags
from portal.stems.fingerprint_indexes import (
    indexed_renders,
    indexed_stems,
    render_matches,
    stem_matches,
)
from portal.stems.models import (
    CheckName,
    ProvenanceCheck,
    Stem,
    StemStatus,
    Verdict,
)
from renderer.analysis import analyze, tempo_matches
from renderer.audio import Audio
from renderer.fingerprint import Fingerprint, Match, fingerprint
from renderer.validate import load_upload

logger = logging.getLogger(__name__)

# A match whose aligned audio accounts for this share of the upload's energy over their overlap
# is the same sound (transformed); below it the stem is one layer among others. Measured on the
# corpus: MP3/Ogg round trips, resampling, +-12 dB and 10 dB SNR noise explain >= 0.92; a stem
# layered under another sound at equal level explains <= 0.62.
NEAR_DUPLICATE_EXPLAINED = 0.8
# ...and the overlap must cover at least this share of the upload: a 60 s upload that merely
# starts with a 5 s vault stem contains it rather than duplicating it.
NEAR_DUPLICATE_OVERLAP = 0.5
QUALITY_PROBLEMS_FLAGGED = {"clipping", "lossy_cutoff", "tempo_mismatch", "dc_offset"}

Array = npt.NDArray[np.float32]


# --- The checks ---------------------------------------------------------------------------------


@dataclass
class CheckResult:
    name: str
    verdict: str
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)


def _load_stem_audio(stem: Stem) -> tuple[bytes, Audio]:
    """The stored file and its decoded audio. The file is still the artist's upload: it is
    decoded within its kind's limits (renderer.validate.load_upload), so a file that differs
    from what submission checked raises AudioRejected instead of exhausting the worker."""
    with default_storage.open(stem.audio.name, "rb") as handle:
        raw = handle.read()
    return raw, load_upload(raw, kind=stem.kind)


def check_exact_duplicate(stem: Stem) -> CheckResult:
    others = Stem.objects.exclude(pk=stem.pk)
    same = list(others.filter(pcm_sha256=stem.pcm_sha256).values_list("pk", flat=True))
    compared = others.count()
    if same:
        return CheckResult(
            CheckName.EXACT_DUPLICATE,
            Verdict.FAIL,
            "The decoded audio is identical to a stem already submitted.",
            {"compared": compared, "matched_stem_ids": same},
        )
    return CheckResult(
        CheckName.EXACT_DUPLICATE,
        Verdict.PASS,
        f"No other stem among the {compared} ever submitted has the same decoded audio.",
        {"compared": compared, "pcm_sha256": stem.pcm_sha256},
    )


def _match_evidence(match: Match, other: Stem, **extra: Any) -> dict[str, Any]:
    return {
        "stem_id": other.pk,
        "title": other.title,
        "status": other.status,
        "score": round(match.score, 3),
        "matched_hashes": match.matched_hashes,
        "upload_offset_s": round(match.query_offset_s, 3),
        "stem_offset_s": round(match.item_offset_s, 3),
        "coverage": round(match.coverage, 3),
        **extra,
    }


def check_near_duplicate(stem: Stem, audio: Audio, fp: Fingerprint) -> tuple[CheckResult, set[int]]:
    """Returns the result and the ids of stems judged the same sound (containment skips them)."""
    candidates = [(m, s) for m, s in stem_matches(fp, contained=False) if s.pk != stem.pk]
    duplicates: list[dict[str, Any]] = []
    worst = Verdict.PASS
    for match, other in candidates:
        try:
            _, other_audio = _load_stem_audio(other)
        except Exception:  # the other file is gone; judge on the fingerprint alone
            logger.warning("near-duplicate: could not load stem %s's audio", other.pk)
            share, overlap = 1.0, match.coverage
        else:
            share, overlap = explained_share(
                audio,
                other_audio,
                query_offset_s=match.query_offset_s,
                item_offset_s=match.item_offset_s,
            )
        if share < NEAR_DUPLICATE_EXPLAINED or overlap < NEAR_DUPLICATE_OVERLAP:
            continue  # a layer, not a copy: the containment check speaks to it
        same_artist = other.artist_id == stem.artist_id
        duplicates.append(
            _match_evidence(
                match,
                other,
                same_artist=same_artist,
                explained_share=round(share, 3),
                overlap_share=round(overlap, 3),
            )
        )
        if not same_artist:
            worst = Verdict.FAIL
        elif worst == Verdict.PASS:
            worst = Verdict.FLAG
    compared = indexed_stems()
    evidence: dict[str, Any] = {"compared": compared, "matches": duplicates}
    ids = {d["stem_id"] for d in duplicates}
    if worst == Verdict.FAIL:
        first = next(d for d in duplicates if not d["same_artist"])
        summary = (
            f"It is a copy of stem #{first['stem_id']}, submitted by another artist "
            f"(the same sound, possibly re-encoded, resampled, trimmed or with noise added; "
            f"match score {first['score']:.2f})."
        )
    elif worst == Verdict.FLAG:
        first = duplicates[0]
        summary = (
            f"It is very close to your own earlier stem #{first['stem_id']} "
            f"“{first['title']}”; curators will check it is a different take."
        )
    else:
        summary = f"No near-copy of it among the {compared} fingerprinted stems."
    return CheckResult(CheckName.NEAR_DUPLICATE, worst, summary, evidence), ids


def check_containment(stem: Stem, fp: Fingerprint, skip: set[int]) -> CheckResult:
    found = [
        (m, s)
        for m, s in stem_matches(fp, contained=True)
        if s.pk != stem.pk and s.pk not in skip and s.status == StemStatus.APPROVED
    ]
    if not found:
        return CheckResult(
            CheckName.CONTAINMENT,
            Verdict.PASS,
            "No vault stem is layered inside it.",
            {"matches": []},
        )
    evidence = [_match_evidence(m, s, same_artist=s.artist_id == stem.artist_id) for m, s in found]
    first = evidence[0]
    return CheckResult(
        CheckName.CONTAINMENT,
        Verdict.FLAG,
        f"It contains vault stem #{first['stem_id']} “{first['title']}” from "
        f"{first['upload_offset_s']:.2f} s into the upload (at {first['stem_offset_s']:.2f} s "
        "into that stem), layered with other sound.",
        {"matches": evidence},
    )


def check_self_output(fp: Fingerprint) -> CheckResult:
    found = render_matches(fp)
    compared = indexed_renders()
    if not found:
        return CheckResult(
            CheckName.SELF_OUTPUT,
            Verdict.PASS,
            f"It matches none of the {compared} mixes the platform has rendered.",
            {"compared": compared},
        )
    match, row = found[0]
    return CheckResult(
        CheckName.SELF_OUTPUT,
        Verdict.FAIL,
        f"It is taken from a mix the platform rendered ({row.key}, from "
        f"{match.item_offset_s:.1f} s); the platform never ingests its own output.",
        {
            "compared": compared,
            "matches": [
                {
                    "rendered": r.key,
                    "score": round(m.score, 3),
                    "matched_hashes": m.matched_hashes,
                    "upload_offset_s": round(m.query_offset_s, 3),
                    "render_offset_s": round(m.item_offset_s, 3),
                }
                for m, r in found
            ],
        },
    )


def check_metadata(raw: bytes) -> CheckResult:
    tags = read_tags(raw)
    hits = [
        {"source": source, "tag": tag, "value": value[:300]}
        for source, tag, value in tags
        if GENERATORS.search(value)
    ]
    if hits:
        first = hits[0]
        return CheckResult(
            CheckName.METADATA,
            Verdict.FLAG,
            f"Its {first['source']} tag {first['tag']} names a music generator: "
            f"“{first['value'][:80]}”.",
            {"matches": hits, "tags_read": len(tags)},
        )
    return CheckResult(
        CheckName.METADATA,
        Verdict.PASS,
        f"None of its {len(tags)} text tags names a music generator.",
        {"matches": [], "tags_read": len(tags)},
    )


def check_quality(analysis: dict[str, Any]) -> CheckResult:
    problems = [p for p in analysis.get("problems", []) if p["code"] in QUALITY_PROBLEMS_FLAGGED]
    evidence = {
        "problems": problems,
        "clipping_ratio": analysis.get("clipping_ratio"),
        "cutoff_hz": analysis.get("cutoff_hz"),
        "bpm_estimate": analysis.get("bpm_estimate"),
        "declared_bpm": analysis.get("declared_bpm"),
        "true_peak_dbtp": analysis.get("true_peak_dbtp"),
        "dc_offset": analysis.get("dc_offset"),
    }
    if problems:
        return CheckResult(
            CheckName.QUALITY, Verdict.FLAG, " ".join(p["message"] for p in problems), evidence
        )
    return CheckResult(
        CheckName.QUALITY,
        Verdict.PASS,
        "No clipping, lossy cutoff or tempo mismatch was measured.",
        evidence,
    )


def quality_recheck(*, stem: Stem) -> None:
    """Re-judge the tempo part of the quality check after the declared BPM changed."""
    analysis = dict(stem.analysis or {})
    if not analysis:
        return
    declared = float(stem.bpm) if stem.bpm is not None else None
    estimate = analysis.get("bpm_estimate")
    matches = None if estimate is None or declared is None else tempo_matches(estimate, declared)
    analysis["declared_bpm"] = declared
    analysis["bpm_matches_declared"] = matches
    problems = [p for p in analysis.get("problems", []) if p["code"] != "tempo_mismatch"]
    if matches is False:
        problems.append(
            {
                "code": "tempo_mismatch",
                "message": f"The {stem.kind} was declared at {declared:g} BPM but its pulse "
                f"measures about {estimate:.1f} BPM. Check the declared tempo.",
            }
        )
    analysis["problems"] = problems
    Stem.objects.filter(pk=stem.pk).update(analysis=analysis)
    stem.analysis = analysis
    if ProvenanceCheck.objects.filter(stem=stem, check_name=CheckName.QUALITY).exists():
        _record(stem, check_quality(analysis))


def _record(stem: Stem, result: CheckResult) -> None:
    ProvenanceCheck.objects.update_or_create(
        stem=stem,
        check_name=result.name,
        defaults={
            "verdict": result.verdict,
            "summary": result.summary,
            "evidence": result.evidence,
        },
    )


# --- The job's body ------------------------------------------------------------------------------


def provenance_run(*, stem_id: int, progress: Callable[[int], None]) -> dict[str, Any]:
    """Analyse, fingerprint and judge one stem. Idempotent: a stem that already left processing
    is skipped; a re-run after a crash recomputes and overwrites each check in place."""
    from portal.stems.services.lifecycle import announce_review

    stem = Stem.objects.filter(pk=stem_id).select_related("artist").first()
    if stem is None:
        return {"skipped": "missing"}
    if stem.status != StemStatus.PROCESSING:
        return {"skipped": stem.status}
    progress(5)
    raw, audio = _load_stem_audio(stem)
    progress(15)
    declared = float(stem.bpm) if stem.bpm is not None else None
    analysis = analyze(audio, kind=stem.kind, declared_bpm=declared).to_dict()
    progress(45)
    fp = fingerprint(audio.samples, audio.sample_rate)
    progress(60)
    results = [check_exact_duplicate(stem)]
    near, duplicate_ids = check_near_duplicate(stem, audio, fp)
    results.append(near)
    progress(70)
    results.append(check_containment(stem, fp, duplicate_ids))
    progress(80)
    results.append(check_self_output(fp))
    progress(88)
    results.append(check_metadata(raw))
    results.append(check_quality(analysis))
    progress(95)
    fails = [r for r in results if r.verdict == Verdict.FAIL]
    flags = [r for r in results if r.verdict == Verdict.FLAG]
    verdict = Verdict.FAIL if fails else Verdict.FLAG if flags else Verdict.PASS
    with transaction.atomic():
        locked = Stem.objects.select_for_update().get(pk=stem.pk)
        if locked.status != StemStatus.PROCESSING:  # withdrawn while we worked
            return {"skipped": locked.status}
        locked.analysis = analysis
        locked.fingerprint = fp.to_bytes()
        locked.provenance_verdict = verdict
        locked.status = StemStatus.REJECTED if fails else StemStatus.IN_REVIEW
        locked.rejection_reason = " ".join(r.summary for r in fails)
        locked.save(
            update_fields=[
                "analysis",
                "fingerprint",
                "provenance_verdict",
                "status",
                "rejection_reason",
                "updated_at",
            ]
        )
        for result in results:
            _record(locked, result)
        audit_record(
            actor=None,
            action=f"stem.{locked.status}",
            subject=f"stem:{locked.pk}",
            stem=locked,
            before={"status": StemStatus.PROCESSING},
            after={
                "status": locked.status,
                "provenance_verdict": verdict,
                "checks": {r.name: r.verdict for r in results},
            },
            note=locked.rejection_reason,
        )
        if locked.status == StemStatus.IN_REVIEW:
            announce_review(locked)
    return {
        "status": locked.status,
        "verdict": verdict,
        "checks": {r.name: r.verdict for r in results},
    }
