"""The provenance checks that match an upload against what the platform already holds: exact
and near duplicates and containment (other stems), self-output (the platform's own renders) and
generator tags (metadata). Each returns a CheckResult; `portal.stems.provenance` runs them inside
the provenance job, and the quality check lives in `portal.stems.checks` with the record of a
verdict.

Matching runs against the fingerprint indexes of `portal/stems/fingerprint_indexes.py`.

Summaries are shown to the uploader as they are stored, so they never name another artist's
stem; the evidence names it, and `stems.selectors.checks_shown` withholds that from the uploader
unless the stem is in the vault.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

from django.core.files.storage import default_storage

from portal.stems.checks import CheckResult
from portal.stems.evidence import (
    GENERATORS,
    NEAR_DUPLICATE_EXPLAINED,
    NEAR_DUPLICATE_OVERLAP,
    explained_share,
    explaining_stems,
    file_format,
    read_tags,
)
from portal.stems.fingerprint_indexes import (
    indexed_renders,
    indexed_stems,
    render_matches,
    stem_matches,
    stem_matches_among,
)
from portal.stems.models import CheckName, RenderedAudio, Stem, StemStatus, Verdict
from renderer.audio import Audio
from renderer.fingerprint import Fingerprint, Match, conclusive, is_shifted
from renderer.validate import load_upload

logger = logging.getLogger(__name__)


def load_stem_audio(stem: Stem) -> tuple[bytes, Audio]:
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


def submitted_before(first: Stem, second: Stem) -> bool:
    """Submission order; the id orders the files of one submission, sent at the same moment."""
    return (first.created_at, first.pk) < (second.created_at, second.pk)


def _changed(evidence: dict[str, Any]) -> str:
    """ ", sped up 3% and pitched +1.0 semitones" for a shifted match's evidence, else ""."""
    tempo, pitch = evidence.get("tempo", 1.0), evidence.get("pitch", 1.0)
    if tempo == 1.0 and pitch == 1.0:
        return ""
    parts = []
    if tempo != 1.0:
        parts.append(f"{'sped up' if tempo > 1 else 'slowed'} {abs(tempo - 1) * 100:.1f}%")
    if pitch != 1.0:
        parts.append(f"pitched {12 * math.log2(pitch):+.2f} semitones")
    return " (" + " and ".join(parts) + ")"


def _match_evidence(match: Match, other: Stem, **extra: Any) -> dict[str, Any]:
    return {
        # What `conclusive` weighs: aligned landmarks against the shared ones chance could
        # stack on one offset, and the overlap they were found in.
        "shared_hashes": match.shared_hashes,
        "chance_matched": match.chance_matched,
        "overlap_s": round(match.overlap_s, 3),
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


@dataclass
class NearDuplicates:
    result: CheckResult
    same_sound: set[int]  # ids of the stems judged the same sound (containment skips them)
    later: list[Stem]  # stems submitted after this one that matched it: theirs to answer for
    copies: dict[int, int]  # the same-sound stems' matched landmarks (the self-output guard's)


def _explained(audio: Audio, other: Stem, match: Match) -> tuple[float, float]:
    """evidence.explained_share of the upload by `other` at the match's alignment."""
    try:
        _, other_audio = load_stem_audio(other)
    except Exception:  # the other file is gone; judge on the fingerprint alone
        logger.warning("near-duplicate: could not load stem %s's audio", other.pk)
        return 1.0, match.coverage
    return explained_share(
        audio, other_audio, query_offset_s=match.query_offset_s, item_offset_s=match.item_offset_s
    )


def check_near_duplicate(
    stem: Stem,
    audio: Audio,
    fp: Fingerprint,
    *,
    also: list[tuple[Stem, Fingerprint]] | None = None,
) -> NearDuplicates:
    """Judge the stem against every stem submitted before it; `also` adds stems whose
    fingerprint is not in the index yet (the earlier stem being judged right now)."""
    found = [(m, s) for m, s in stem_matches(fp, contained=False) if s.pk != stem.pk]
    seen = {s.pk for _, s in found}
    found += [(m, s) for m, s in stem_matches_among(fp, also or []) if s.pk not in seen]
    found = [(m, s) for m, s in found if s.pk != stem.pk]
    # A stem submitted later cannot be what this one copies, however the jobs were ordered.
    later = [s for _, s in found if submitted_before(stem, s)]
    candidates = [(m, s) for m, s in found if not submitted_before(stem, s)]
    duplicates: list[dict[str, Any]] = []
    worst = Verdict.PASS
    for match, other in candidates:
        # Sped up, slowed or pitched: no waveform lines up with the other's to weigh, so the
        # landmarks speak alone, and never conclusively (renderer.fingerprint.conclusive).
        share, overlap = (None, None) if is_shifted(match) else _explained(audio, other, match)
        if (
            share is not None
            and overlap is not None
            and (share < NEAR_DUPLICATE_EXPLAINED or overlap < NEAR_DUPLICATE_OVERLAP)
        ):
            continue  # a layer, not a copy: the containment check speaks to it
        same_artist = other.artist_id == stem.artist_id
        # Refused only on landmarks an unrelated sound cannot produce (renderer.fingerprint.
        # conclusive); a resemblance short of that goes to curators with its evidence.
        sure = conclusive(match)
        duplicates.append(
            _match_evidence(
                match,
                other,
                same_artist=same_artist,
                conclusive=sure,
                explained_share=None if share is None else round(share, 3),
                overlap_share=None if overlap is None else round(overlap, 3),
                tempo=round(match.tempo, 4),
                pitch=round(match.pitch, 4),
            )
        )
        if not same_artist and sure:
            worst = Verdict.FAIL
        elif worst == Verdict.PASS:
            worst = Verdict.FLAG
    compared = indexed_stems()
    evidence: dict[str, Any] = {"compared": compared, "matches": duplicates}
    ids = {d["stem_id"] for d in duplicates}
    copies = {d["stem_id"]: d["matched_hashes"] for d in duplicates}
    if worst == Verdict.FAIL:
        first = next(d for d in duplicates if not d["same_artist"])
        # The artist reads this (and the rejection reason made of it): another artist's stem
        # stays unnamed here; curators find it in the evidence.
        summary = (
            "It matches a stem already submitted to the vault by another artist "
            f"(the same sound, possibly re-encoded, resampled, trimmed or with noise added; "
            f"match score {first['score']:.2f})."
        )
    elif worst == Verdict.FLAG and not all(d["same_artist"] for d in duplicates):
        first = next(d for d in duplicates if not d["same_artist"])
        summary = (
            "It resembles a stem already submitted to the vault by another artist"
            f"{_changed(first)}, on too little evidence to call it a copy ({first['matched_hashes']} aligned landmarks, "
            f"match score {first['score']:.2f}); curators will compare the two."
        )
    elif worst == Verdict.FLAG:
        first = duplicates[0]
        summary = (
            f"It is very close to your own earlier stem #{first['stem_id']} "
            f"“{first['title']}”; curators will check it is a different take."
        )
    else:
        summary = f"No near-copy of it among the {compared} fingerprinted stems."
    result = CheckResult(CheckName.NEAR_DUPLICATE, worst, summary, evidence)
    return NearDuplicates(result, ids, later, copies)


def check_containment(
    stem: Stem,
    fp: Fingerprint,
    skip: set[int],
    layered: list[tuple[Match, Stem]] | None = None,
) -> CheckResult:
    """`layered`: stem_matches(fp, contained=True), when the caller looked already."""
    layered = stem_matches(fp, contained=True) if layered is None else layered
    found = [
        (m, s)
        for m, s in layered
        if s.pk != stem.pk
        and s.pk not in skip
        and s.status == StemStatus.APPROVED
        and submitted_before(s, stem)
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


def _render_evidence(match: Match, row: RenderedAudio, *, conclusive: bool) -> dict[str, Any]:
    return {
        "rendered": row.key,
        "conclusive": conclusive,
        "score": round(match.score, 3),
        "matched_hashes": match.matched_hashes,
        "shared_hashes": match.shared_hashes,
        "chance_matched": match.chance_matched,
        "upload_offset_s": round(match.query_offset_s, 3),
        "render_offset_s": round(match.item_offset_s, 3),
    }


def check_self_output(
    fp: Fingerprint,
    *,
    copies: dict[int, int] | None = None,
    found: list[tuple[Match, RenderedAudio]] | None = None,
    contained: dict[int, int] | None = None,
) -> CheckResult:
    """Is the upload (an excerpt of) audio the platform rendered? `copies` maps the stems the
    near-duplicate check found the upload to be a copy of to their matched landmarks, and
    `contained` the stems containment finds in it to theirs; `found` is render_matches(fp),
    when the caller looked already.

    The guard answers for the render itself, not for audio that merely shares a stem with it: a
    copy of a vault stem also matches every preview that stem sounds in, and is reported by the
    near-duplicate check as a copy of that stem (a match here is explained by a stem when the
    render's manifest lists it and the render explains not much more than the stem does, see
    evidence.explaining_stems). Only an upload that copies a stem has its render matches
    explained, by that stem or by a stem it holds: an excerpt of a render holds each of its
    stems too but copies none (letting a held stem explain a match on any upload would let 13%
    of render excerpts through on the calibration half). Past that, it is refused only on
    conclusive evidence (renderer.fingerprint.conclusive); a weaker match is a flag for
    curators with its evidence."""
    copies = copies or {}
    contained = contained or {}
    found = render_matches(fp) if found is None else found
    compared = indexed_renders()
    own: list[tuple[Match, RenderedAudio]] = []
    weak: list[tuple[Match, RenderedAudio]] = []
    explained: list[dict[str, Any]] = []
    for match, row in found:
        via = explaining_stems(match.matched_hashes, row.stem_ids or [], copies, contained)
        if via:
            explained.append(
                {
                    "rendered": row.key,
                    "matched_hashes": match.matched_hashes,
                    "matched_stem_ids": via,
                }
            )
        elif conclusive(match):
            own.append((match, row))
        else:  # matches a render, on evidence chance could produce: for curators to hear
            weak.append((match, row))
    if not own and weak:
        match, row = weak[0]
        return CheckResult(
            CheckName.SELF_OUTPUT,
            Verdict.FLAG,
            f"It resembles a mix the platform rendered ({row.key}, from "
            f"{match.item_offset_s:.1f} s) on too little evidence to call it platform output "
            f"({match.matched_hashes} aligned landmarks); curators will listen to both.",
            {
                "compared": compared,
                "matches": [_render_evidence(m, r, conclusive=False) for m, r in weak],
                "explained_by_stems": explained,
            },
        )
    if not own:
        summary = f"It matches none of the {compared} mixes the platform has rendered."
        if explained:
            summary = (
                f"It matches {len(explained)} of the {compared} mixes the platform has rendered "
                "only through a stem it copies (or one that stem holds), which the near-duplicate"
                " check reports."
            )
        return CheckResult(
            CheckName.SELF_OUTPUT,
            Verdict.PASS,
            summary,
            {"compared": compared, "explained_by_stems": explained},
        )
    match, row = own[0]
    return CheckResult(
        CheckName.SELF_OUTPUT,
        Verdict.FAIL,
        f"It is taken from a mix the platform rendered ({row.key}, from "
        f"{match.item_offset_s:.1f} s); the platform never ingests its own output.",
        {
            "compared": compared,
            "matches": [_render_evidence(m, r, conclusive=True) for m, r in own]
            + [_render_evidence(m, r, conclusive=False) for m, r in weak],
            "explained_by_stems": explained,
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
            {"matches": hits, "tags_read": len(tags), "format": file_format(raw)},
        )
    return CheckResult(
        CheckName.METADATA,
        Verdict.PASS,
        f"None of its {len(tags)} text tags names a music generator.",
        {"matches": [], "tags_read": len(tags), "format": file_format(raw)},
    )
