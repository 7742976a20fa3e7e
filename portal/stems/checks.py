"""The quality check and the record of a check's verdict, below both the provenance job and the
lifecycle service: the job runs the check on upload, and the lifecycle re-runs its tempo part when
the artist changes the declared BPM, without the service reaching into the job."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from portal.stems.models import CheckName, ProvenanceCheck, Stem, Verdict
from renderer.analysis import tempo_matches

QUALITY_PROBLEMS_FLAGGED = {"clipping", "lossy_cutoff", "tempo_mismatch", "dc_offset"}


@dataclass
class CheckResult:
    name: str
    verdict: str
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)


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
        check_record(stem, check_quality(analysis))


def check_record(stem: Stem, result: CheckResult) -> None:
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
