"""The render pipeline of the "mixes.render" job: render a queued mix, store its file with a
signed manifest, register it with the self-output guard, and record success, retry or failure.

A render enters the self-output index only once it is stored and recorded: the registration
is in the transaction that moves the file into place and marks the mix done, so a render that
fails at any step (storage, the row, the claim) leaves no index entry, no stored file and no
half-written row behind.

The job is idempotent: the output's storage name is fixed by the mix id, it is written under a
temporary name and moved into place while the mix row is locked, and a mix that is already done
is left alone, so a retried or duplicated job never leaves two outputs or a partial file. A
worker whose claim on the job was lost (the sweeper gave it to another) records nothing
(job_claim_assert).
"""

from __future__ import annotations

import hashlib
import math
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from portal.audit.services import audit_record
from portal.core.errors import ApplicationError
from portal.jobs.services import job_claim_assert
from portal.mixes.extra_files import extra_files_make, stem_groups_for
from portal.mixes.file_names import extra_name, output_name, storage_move
from portal.mixes.keys import credentials_signer, signing_key_pem
from portal.mixes.models import Mix, MixStem, RenderKind, RenderStatus
from portal.mixes.planner import plan_preview, plan_soundtrack
from portal.mixes.selection import candidate_from_stem
from portal.mixes.services import plan_sha256
from portal.mixes.soundtrack_request import soundtrack_request_from
from portal.stems.models import RenderedAudio, Stem, StemStatus
from portal.stems.services.rendered_audio import rendered_audio_register
from renderer.bwf import broadcast_wav
from renderer.credentials import CredentialsError, sign_credentials
from renderer.dsp.peaks import slice_peaks
from renderer.engine import RenderError, RenderResult, render
from renderer.fingerprint import Fingerprint, fingerprint
from renderer.manifest import build_manifest, embed_manifest
from renderer.plan import PlanError, StemRef, parse_plan
from renderer.signing import sign_manifest
from renderer.stems import StemCache, StemUndecodable

RENDER_TIME_LIMIT_S = int(getattr(settings, "MIXES_RENDER_TIME_LIMIT_S", 300))
# Decoded stems stay in memory per worker process, keyed by content hash: a popular stem is
# decoded once, not once per render.
STEM_CACHE = StemCache(max_bytes=int(getattr(settings, "MIXES_STEM_CACHE_BYTES", 512 * 1024**2)))
WAVEFORM_POINTS = 400
# A preview's subject may still be under review; these states keep it renderable for that.
PREVIEWABLE_STATUSES = {
    StemStatus.PROCESSING,
    StemStatus.IN_REVIEW,
    StemStatus.CHANGES_REQUESTED,
    StemStatus.APPROVED,
}


class RenderFailed(Exception):
    """An expected failure (a stem's audio is gone, the vault no longer fits the request):
    recorded on the mix and the job, not retried."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _load_stem(ref: StemRef) -> bytes:
    """The engine's loader: a stem's stored file, checked against the plan's content hash. The
    engine decodes the bytes on its thread pool (this runs in the job's thread: it queries)."""
    stem = Stem.objects.filter(pk=int(ref.id)).first() if ref.id.isdigit() else None
    if stem is None:
        raise RenderFailed("stem_missing", f"Stem #{ref.id} no longer exists.")
    name = stem.audio.name
    try:
        if not name or not default_storage.exists(name):
            raise FileNotFoundError(name)
        with default_storage.open(name, "rb") as handle:
            data: bytes = handle.read()
    except Exception as exc:  # local disk or S3: either way the audio cannot be read
        raise RenderFailed(
            "stem_audio_missing",
            f"The stored audio of stem #{stem.pk} “{stem.title}” cannot be read "
            f"({type(exc).__name__}); the render needs it.",
        ) from exc
    digest = hashlib.sha256(data).hexdigest()
    if ref.content_sha256 is not None and digest != ref.content_sha256:
        raise RenderFailed(
            "stem_audio_changed",
            f"The stored audio of stem #{stem.pk} “{stem.title}” is not the file the plan was "
            f"made from (sha256 {digest[:12]}…, expected {ref.content_sha256[:12]}…).",
        )
    return data


def _current_plan(mix: Mix) -> dict[str, Any]:
    """The plan to render: a soundtrack's own plan, re-made if one of its stems has left the
    vault since it was requested; a preview's plan, made against the vault as it is now."""
    if mix.kind == RenderKind.PREVIEW:
        subject = mix.preview_of
        if subject is None or subject.status not in PREVIEWABLE_STATUSES:
            raise RenderFailed(
                "stem_not_previewable",
                "The stem this preview is for has been withdrawn, rejected or taken down.",
            )
        # A preview shows the stem against the vault as it is when it renders: stems approved
        # since it was queued (a batch of uploads entering review together) join the context.
        return plan_preview(candidate_from_stem(subject))
    plan: dict[str, Any] = dict(mix.plan)
    ids = [int(s["id"]) for s in plan.get("stems", []) if str(s.get("id", "")).isdigit()]
    approved = set(
        Stem.objects.filter(pk__in=ids, status=StemStatus.APPROVED).values_list("pk", flat=True)
    )
    if approved == set(ids):
        return plan
    # Withdrawals and takedowns apply to renders that have not happened yet: plan again from
    # the same request and seed against the vault as it is now.
    try:
        return plan_soundtrack(soundtrack_request_from(dict(mix.request)))
    except ApplicationError as exc:
        raise RenderFailed(exc.code, exc.message) from exc


def _credits(stem: Stem) -> list[dict[str, Any]]:
    rows = list(stem.credits.select_related("artist").order_by("artist_id"))
    if not rows:
        # A stem always has at least its uploader as a credit; older rows may lack the Credit.
        return [
            {
                "artist_id": stem.artist_id,
                "artist": stem.artist.display_name,
                "split_bps": 10000,
                "split_percent": 100.0,
            }
        ]
    return [
        {
            "artist_id": credit.artist_id,
            "artist": credit.artist.display_name,
            "split_bps": int(credit.split_bps),
            "split_percent": credit.split_bps / 100.0,
        }
        for credit in rows
    ]


def stems_meta_for(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """What the manifest says about each stem: content hash, license version, credits."""
    ids = [int(s["id"]) for s in plan.get("stems", []) if str(s.get("id", "")).isdigit()]
    meta: dict[str, dict[str, Any]] = {}
    stems = Stem.objects.filter(pk__in=ids).select_related("artist", "submission__license")
    for stem in stems:
        meta[str(stem.pk)] = {
            # The engine's content hash is the sha256 of the stored file's bytes.
            "content_sha256": stem.file_sha256,
            "license_version": stem.submission.license.version,
            "credits": _credits(stem),
            "title": stem.title,
            "role": stem.role,
        }
    return meta


def _stem_formats(plan: dict[str, Any]) -> dict[str, str]:
    """Each stem's MIME type, for its Content Credentials ingredient."""
    ids = [int(s["id"]) for s in plan.get("stems", []) if str(s.get("id", "")).isdigit()]
    rows = Stem.objects.filter(pk__in=ids).values_list("pk", "audio_format")
    return {str(pk): f"audio/{str(fmt).lower()}" for pk, fmt in rows if fmt}  # wav, flac, aiff


def signed_manifest_for(
    plan: dict[str, Any], result: RenderResult, *, render_id: str
) -> dict[str, Any]:
    meta = stems_meta_for(plan)
    manifest = build_manifest(parse_plan(plan), result, render_id=render_id, stems_meta=meta)
    # build_manifest keeps only {artist, split_percent} per credit; royalties are paid from the
    # manifest, so it also carries the artist's id and the exact split in basis points, and
    # each stem's title and role for the credits people read (iXML, cue sheet).
    for entry in manifest["stems"]:
        if entry["id"] in meta:
            for key in ("credits", "title", "role"):
                entry[key] = meta[entry["id"]][key]
    return sign_manifest(manifest, signing_key_pem())


def waveform_peaks(samples: np.ndarray, points: int = WAVEFORM_POINTS) -> list[float]:
    """Peak level of each of `points` equal slices, for drawing: 0..1, 3 decimals."""
    peaks = np.minimum(slice_peaks(samples, points), 1.0)
    return [round(float(v), 3) for v in peaks]


def _finite(value: float) -> float | None:
    # A silent render measures -inf LUFS/dBTP: stored as "no value", like the manifest does.
    return round(value, 3) if math.isfinite(value) else None


def _register_fingerprint(mix: Mix, result: RenderResult, fp: Fingerprint) -> None:
    """Put the render into the self-output guard, so an upload of it (or of an excerpt) fails.
    Called inside the transaction that records the stored render (see the module docstring)."""
    key = f"mix:{mix.pk}"
    if RenderedAudio.objects.filter(key=key).exists():
        return
    rendered_audio_register(
        key=key,
        samples=result.samples,
        sample_rate=result.sample_rate,
        # What the self-output index needs to recompute this fingerprint, without reading Mix.
        audio_name=output_name(mix, result.format),
        fingerprinted=fp,
        # Its stems, so that a copy of one of them is judged a copy of that stem.
        stem_ids=[int(p.stem_id) for p in result.placements if p.stem_id.isdigit()],
    )


def mix_fail(*, mix_id: uuid.UUID | str, code: str, message: str) -> None:
    with transaction.atomic():
        # From a render job: only while it holds its claim (a stale worker must not fail the
        # mix another worker is rendering). From the sweeper's give-up hook: a no-op.
        job_claim_assert()
        mix = Mix.objects.select_for_update().filter(pk=mix_id).first()
        if mix is None or mix.status == RenderStatus.DONE:
            return
        mix.status = RenderStatus.FAILED
        mix.error = message
        mix.finished_at = timezone.now()
        mix.save(update_fields=["status", "error", "finished_at"])
        audit_record(
            actor=None,
            action="mix.failed",
            subject=f"mix:{mix.pk}",
            stem=mix.preview_of,
            after={"code": code, "error": message},
        )


@transaction.atomic
def mix_retry_later(*, mix_id: uuid.UUID | str, message: str) -> None:
    job_claim_assert()
    Mix.objects.filter(pk=mix_id, status=RenderStatus.RENDERING).update(
        status=RenderStatus.QUEUED, error=f"Retrying after an error: {message}"
    )


def mix_render(*, mix_id: uuid.UUID | str, progress: Callable[[int], None]) -> dict[str, Any]:
    """Render a queued mix, store the file with its signed manifest, record the result."""
    started = Mix.objects.filter(
        pk=mix_id, status__in=[RenderStatus.QUEUED, RenderStatus.RENDERING]
    ).update(status=RenderStatus.RENDERING, error="")
    mix = Mix.objects.select_related("preview_of").filter(pk=mix_id).first()
    if mix is None:
        raise RenderFailed("mix_missing", f"Mix {mix_id} does not exist.")
    if not started:
        # Done or failed already: a duplicated or late job changes nothing.
        return {"mix_id": str(mix.pk), "status": mix.status, "skipped": True}

    def engine_progress(percent: int) -> None:
        # The job's progress callback also stops the render at RENDER_TIME_LIMIT_S (the kind's
        # time limit) or when this worker's claim was lost.
        progress(5 + int(percent * 0.8))

    plan = _current_plan(mix)
    groups = stem_groups_for(mix, plan)  # role groups when stems are asked for, else None
    try:
        result = render(
            parse_plan(plan),
            load=_load_stem,
            progress=engine_progress,
            cache=STEM_CACHE,
            buses=groups,
        )
    except StemUndecodable as exc:
        stem = Stem.objects.filter(pk=int(exc.stem_id)).first() if exc.stem_id.isdigit() else None
        title = f" “{stem.title}”" if stem is not None else ""
        raise RenderFailed(
            "stem_audio_unreadable",
            f"The stored audio of stem #{exc.stem_id}{title} cannot be decoded.",
        ) from exc
    except RenderError as exc:
        # The engine refused (a silent or non-finite mix): retrying renders the same refusal.
        raise RenderFailed("render_refused", f"The render was refused: {exc.message}.") from exc
    except PlanError as exc:
        raise RenderFailed("invalid_plan", exc.message) from exc
    manifest = signed_manifest_for(plan, result, render_id=str(mix.pk))
    data = result.audio
    if result.format == "wav":
        # Broadcast WAV chunks first; then the manifest and its signature; credentials last.
        data = broadcast_wav(data, manifest, result.loudness_report, originated=timezone.now())
    data = embed_manifest(data, result.format, manifest)
    formats = _stem_formats(plan)
    try:
        # Content Credentials last: their hash covers every byte written before them.
        data = sign_credentials(
            data, result.format, manifest, credentials_signer(), stem_formats=formats
        )
        # The MP3 and the stems the request asks for, each with its own credentials.
        extras = extra_files_make(
            mix=mix,
            result=result,
            manifest=manifest,
            groups=groups,
            stem_formats=formats,
            master=data,
        )
    except CredentialsError as exc:
        raise RenderFailed("credentials_failed", str(exc)) from exc
    waveform = waveform_peaks(result.samples)
    progress(88)
    job_claim_assert()  # cheap, before the fingerprint; the commit below checks under lock
    # Computed outside the locks below (it is the slow part); registered inside them.
    fp = fingerprint(result.samples, result.sample_rate)
    progress(92)

    final = output_name(mix, result.format)
    moved: list[str] = []
    temporary = default_storage.save(
        f"mixes/tmp/{mix.pk}-{uuid.uuid4().hex}.{result.format}", ContentFile(data)
    )
    staged: dict[str, str] = {}  # kind -> the extra file's temporary name
    try:
        for kind, file in extras.items():
            with file:
                staged[kind] = default_storage.save(
                    f"mixes/tmp/{mix.pk}-{uuid.uuid4().hex}-{kind}", file
                )
        with transaction.atomic():
            # Locks the job row: the sweeper cannot give the job away before this commits.
            job_claim_assert()
            locked = Mix.objects.select_for_update().get(pk=mix.pk)
            if locked.status != RenderStatus.RENDERING:
                return {"mix_id": str(mix.pk), "status": locked.status, "skipped": True}
            for source, target in [
                (temporary, final),
                *((name, extra_name(mix, kind)) for kind, name in staged.items()),
            ]:
                storage_move(source, target)
                moved.append(target)
            used = sorted({int(p.stem_id) for p in result.placements if p.stem_id.isdigit()})
            locked.plan = plan
            locked.plan_sha256 = plan_sha256(plan)
            locked.audio.name = final
            locked.audio_format = result.format
            locked.audio_sha256 = result.audio_sha256
            locked.duration_s = result.duration_s
            locked.duration_ms = round(result.duration_s * 1000)
            locked.loudness_lufs = _finite(result.loudness_lufs)
            locked.true_peak_dbtp = _finite(result.true_peak_dbtp)
            locked.manifest = manifest
            locked.waveform = waveform
            locked.status = RenderStatus.DONE
            locked.error = ""
            locked.finished_at = timezone.now()
            locked.save()
            # Exactly one set of rows, however many times this ran.
            MixStem.objects.filter(mix=locked).delete()
            MixStem.objects.bulk_create([MixStem(mix=locked, stem_id=i) for i in used])
            # Stored and recorded: only now does the render join the self-output index, in
            # this transaction, so a failure before the commit rolls the entry back too.
            _register_fingerprint(locked, result, fp)
            audit_record(
                actor=None,
                action="mix.rendered",
                subject=f"mix:{locked.pk}",
                stem=locked.preview_of,
                after={
                    "audio": final,
                    "extras": sorted(staged),
                    "audio_sha256": result.audio_sha256,
                    "plan_sha256": locked.plan_sha256,
                    "stems": used,
                },
            )
    except BaseException:
        # Files moved into place but the transaction did not commit: the mix is not done, so
        # the files at its names are nobody's render. Remove them (the retry writes anew).
        for name in moved:
            if default_storage.exists(name):
                default_storage.delete(name)
        raise
    finally:
        for name in [temporary, *staged.values()]:
            if default_storage.exists(name):
                default_storage.delete(name)
    progress(99)
    return {
        "mix_id": str(mix.pk),
        "status": RenderStatus.DONE,
        "audio_sha256": result.audio_sha256,
        "stems": used,
    }
