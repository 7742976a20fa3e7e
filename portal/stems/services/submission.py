"""Contributing audio: one or several files under one license and attestation.

`stem_submit` validates everything before it stores a byte, stores the audio under a generated
private name, and writes every row in one transaction; if anything fails after a file was
stored, the stored files are deleted before the error propagates. Bad input therefore leaves no
row and no file behind.

Files are judged one at a time, and what is kept of each is its measurements (format, length,
hashes), never its bytes or decoded samples: a request with twenty files holds one file's bytes
and one decoding block at a time, whatever their headers claim."""

from __future__ import annotations

import ipaddress
import logging
import uuid
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from portal.accounts.models import User
from portal.audit.services import audit_record
from portal.core.errors import ApplicationError, Conflict, PermissionDenied
from portal.jobs.services import job_enqueue
from portal.stems.details import (
    ATTESTATIONS,
    MAX_FILES_PER_SUBMISSION,
    clean_attestations,
    clean_credits,
    clean_metadata,
    field_error,
)
from portal.stems.models import (
    ContributionReceipt,
    Credit,
    LicenseTemplate,
    Stem,
    StemKind,
    StemStatus,
    Submission,
)
from portal.stems.provenance_jobs import PROVENANCE_JOB_KIND
from portal.stems.services.lifecycle import announce_credits, credit_consent_fields
from portal.stems.services.upload_checks import (
    EXTENSIONS,
    Prepared,
    files_error,
    prepare_file,
)

logger = logging.getLogger(__name__)
KINDS = frozenset(StemKind.values)


def _duplicate_error(existing: Stem, *, artist: User) -> Conflict:
    when = timezone.localtime(existing.created_at).strftime("%Y-%m-%d %H:%M UTC")
    whose = (
        f"by you as “{existing.title}” (stem #{existing.pk})"
        if existing.artist_id == artist.pk
        else "by another artist"
    )
    return Conflict(
        "duplicate",
        f"This exact audio was already submitted {whose} on {when}. The vault takes each "
        "sound once; a re-wrapped or renamed copy of the same audio counts as the same sound.",
        fields={"files": ["Already submitted."]},
    )


def _existing_duplicate(pcm_hashes: Iterable[str]) -> Stem | None:
    return Stem.objects.filter(pcm_sha256__in=list(pcm_hashes)).order_by("created_at").first()


def _storage_name(prepared: Prepared) -> str:
    now = timezone.now()
    ext = EXTENSIONS[prepared.audio.format]
    return f"stems/{now:%Y}/{now:%m}/{uuid.uuid4().hex}.{ext}"


def _delete_stored(names: Iterable[str]) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except Exception:  # cleanup must not mask the original error
            logger.exception("could not delete stored upload %s", name)


def _client_ip(ip_address: str | None) -> str | None:
    if not ip_address:
        return None
    try:
        return str(ipaddress.ip_address(ip_address.strip()))
    except ValueError:
        return None


def stem_submit(
    *,
    artist: User,
    files: Sequence[Any],
    metadata: Sequence[dict[str, Any]],
    credits: Sequence[dict[str, Any]] | Sequence[Sequence[dict[str, Any]]] | None,
    license_version: int,
    attestations: dict[str, Any],
    ip_address: str | None,
) -> list[Stem]:
    """Contribute one or several audio files under one license and attestation.

    `metadata` holds one dict per file (title, kind, role, bpm, bars, musical_key, moods,
    genres, description). `credits` is one list of {"artist": username or User,
    "split_percent": Decimal} for every stem, or one such list per file. Everything is validated
    before anything is stored; a refusal raises ApplicationError (409 for a duplicate, 413 for
    a file over the limit) and leaves no row and no stored file.
    """
    if not getattr(artist, "is_artist", False):
        raise PermissionDenied("not_an_artist", "Only artist accounts can contribute stems.")
    if not files:
        raise field_error("files", "Choose at least one audio file (WAV, FLAC or AIFF).")
    if len(files) > MAX_FILES_PER_SUBMISSION:
        raise field_error("files", f"Send at most {MAX_FILES_PER_SUBMISSION} files at once.")
    if len(metadata) != len(files):
        raise field_error("metadata", f"Give metadata for each of the {len(files)} files.")
    license_ = LicenseTemplate.objects.filter(version=license_version).first()
    if license_ is None:
        raise field_error(
            "license_version", f"There is no license version {license_version}.", "no_license"
        )
    general: list[ApplicationError] = []
    clean_attestation: dict[str, Any] = {}
    try:
        clean_attestation = clean_attestations(attestations, license_version=license_.version)
    except ApplicationError as exc:
        general.append(exc)  # reported with the files' problems, not before them
    per_stem_credits = bool(credits) and all(isinstance(c, list | tuple) for c in credits or [])
    if per_stem_credits and len(credits or []) != len(files):
        raise field_error("credits", f"Give credits for each of the {len(files)} files.")
    labels = [str(getattr(f, "name", "") or f"file {i + 1}") for i, f in enumerate(files)]
    prepared: list[Prepared] = []
    problems: list[tuple[int, ApplicationError]] = []
    for index, (upload, meta) in enumerate(zip(files, metadata, strict=True)):
        label = labels[index] if len(files) > 1 else ""
        stem_credits = credits[index] if per_stem_credits else credits  # type: ignore[index]
        # Every file and its details are judged before any answer, so the artist fixes all of
        # them in one go.
        found = len(problems)
        try:
            clean = clean_metadata(meta, label=label)
        except ApplicationError as exc:
            problems.append((index, exc))
            clean = {"kind": meta.get("kind")}
        try:
            item = prepare_file(upload, clean, label=label) if clean["kind"] in KINDS else None
            credited = clean_credits(stem_credits, artist=artist)  # type: ignore[arg-type]
        except ApplicationError as exc:
            problems.append((index, exc))
            continue
        if item is not None and len(problems) == found:
            item.credits = credited
            prepared.append(item)
    if problems or general:
        raise files_error(problems, labels, general=general)
    hashes = [item.audio.pcm_sha256 for item in prepared]
    if len(set(hashes)) != len(hashes):
        raise field_error("files", "Two of the files hold the same audio; send each sound once.")
    existing = _existing_duplicate(hashes)
    if existing is not None:
        raise _duplicate_error(existing, artist=artist)

    stored: list[str] = []
    try:
        for item in prepared:
            # Streamed from the upload (a temporary file for large ones), not the client's name.
            if hasattr(item.upload, "seek"):
                item.upload.seek(0)
            source = (
                item.upload if hasattr(item.upload, "chunks") else ContentFile(item.upload.read())
            )
            stored.append(default_storage.save(_storage_name(item), source))
        with transaction.atomic():
            stems = _create_rows(
                artist=artist,
                prepared=prepared,
                stored=stored,
                license_=license_,
                attestations=clean_attestation,
                ip_address=_client_ip(ip_address),
            )
    except IntegrityError as exc:
        _delete_stored(stored)
        # Two uploads of the same sound raced past the check above; the unique pcm_sha256
        # constraint let exactly one in. This one lost.
        duplicate = _existing_duplicate(hashes)
        if duplicate is not None or "pcm_sha256" in str(exc):
            if duplicate is None:
                raise Conflict(
                    "duplicate",
                    "This exact audio was submitted at the same moment by another upload.",
                ) from None
            raise _duplicate_error(duplicate, artist=artist) from None
        raise
    except BaseException:
        _delete_stored(stored)
        raise
    return stems


def _create_rows(
    *,
    artist: User,
    prepared: list[Prepared],
    stored: list[str],
    license_: LicenseTemplate,
    attestations: dict[str, Any],
    ip_address: str | None,
) -> list[Stem]:
    submission = Submission(
        artist=artist, license=license_, attestations=attestations, ip_address=ip_address
    )
    submission.full_clean()
    submission.save()
    stems: list[Stem] = []
    for item, name in zip(prepared, stored, strict=True):
        audio = item.audio
        stem = Stem(
            submission=submission,
            artist=artist,
            status=StemStatus.PROCESSING,
            audio=name,
            original_filename=item.filename[:255],
            size_bytes=item.size_bytes,
            file_sha256=item.file_sha256,
            pcm_sha256=audio.pcm_sha256,
            audio_format=audio.format,
            sample_rate=audio.sample_rate,
            channels=audio.channels,
            duration_s=round(audio.duration_s, 6),
            **item.metadata,
        )
        # Uniqueness is the database's job here: the constraint, not a racy pre-query.
        stem.full_clean(validate_unique=False, validate_constraints=False)
        stem.save()
        asked: list[int] = []
        for user, bps in item.credits:
            consent = credit_consent_fields(
                artist_id=user.pk, uploader_id=artist.pk, now=submission.created_at
            )
            credit = Credit(stem=stem, artist=user, split_bps=bps, **consent)
            credit.full_clean(validate_unique=False, validate_constraints=False)
            credit.save()
            if user.pk != artist.pk:
                asked.append(credit.pk)
        # Everyone else credited is asked to accept their share (a notice, after commit); the
        # stem cannot be approved before they all have.
        announce_credits(stem, asked)
        ContributionReceipt.objects.create(
            stem=stem,
            body=_receipt_body(
                stem=stem,
                submission=submission,
                license_=license_,
                credits=item.credits,
                attestations=attestations,
            ),
        )
        audit_record(
            actor=artist,
            action="stem.submitted",
            subject=f"stem:{stem.pk}",
            stem=stem,
            after={
                "status": stem.status,
                "title": stem.title,
                "pcm_sha256": stem.pcm_sha256,
                "license_version": license_.version,
                "credits": {user.username: bps for user, bps in item.credits},
            },
        )
        job = job_enqueue(
            kind=PROVENANCE_JOB_KIND,
            args={"stem_id": stem.pk},
            owner=artist,
            dedupe_key=f"provenance:{stem.pk}:{stem.pcm_sha256[:16]}",
        )
        stem.provenance_job = job
        stem.save(update_fields=["provenance_job"])
        stems.append(stem)
    return stems


def _receipt_body(
    *,
    stem: Stem,
    submission: Submission,
    license_: LicenseTemplate,
    credits: list[tuple[User, int]],
    attestations: dict[str, Any],
) -> dict[str, Any]:
    artist = stem.artist
    return {
        "receipt": "Stemvault contribution receipt",
        "receipt_version": 1,
        "stem": {
            "id": stem.pk,
            "title": stem.title,
            "kind": stem.kind,
            "role": stem.role,
            "original_filename": stem.original_filename,
            "audio_format": stem.audio_format,
            "sample_rate": stem.sample_rate,
            "channels": stem.channels,
            "duration_s": stem.duration_s,
            "size_bytes": stem.size_bytes,
        },
        "submission_id": submission.pk,
        "account": {
            "id": artist.pk,
            "username": artist.username,
            "display_name": artist.display_name,
        },
        "submitted_at": submission.created_at.isoformat(),
        "ip_address": submission.ip_address,
        "audio": {"file_sha256": stem.file_sha256, "pcm_sha256": stem.pcm_sha256},
        "license": {
            "version": license_.version,
            "title": license_.title,
            "terms_sha256": license_.terms_sha256,
        },
        "credits": [
            {"artist": user.username, "split_percent": f"{Decimal(bps) / 100:.2f}"}
            for user, bps in credits
        ],
        "attestations": [
            {
                "key": key,
                "statement": ATTESTATIONS[key].format(version=license_.version),
                "value": attestations[key],
            }
            for key in ATTESTATIONS
        ],
    }
