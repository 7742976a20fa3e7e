"""Writes for stems: licenses, contributions, withdrawals, metadata edits, rendered audio.

`stem_submit` validates everything before it stores a byte, stores the audio under a generated
private name, and writes every row in one transaction; if anything fails after a file was
stored, the stored files are deleted before the error propagates. Bad input therefore leaves no
row and no file behind.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import numpy.typing as npt
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from portal.accounts.models import Role, User
from portal.audit.services import audit_record
from portal.core.errors import ApplicationError, Conflict, PermissionDenied
from portal.jobs.services import job_enqueue
from portal.stems.models import (
    ContributionReceipt,
    Credit,
    LicenseTemplate,
    RenderedAudio,
    Stem,
    StemKind,
    StemRole,
    StemStatus,
    Submission,
)
from portal.stems.provenance_jobs import PROVENANCE_JOB_KIND
from portal.stems.signals import stem_entered_review
from renderer.audio import Audio, pcm_sha256
from renderer.fingerprint import fingerprint
from renderer.validate import AudioRejected, validate_filename, validate_upload

logger = logging.getLogger(__name__)

MAX_FILES_PER_SUBMISSION = 20
MAX_TAGS = 10
MAX_TAG_LENGTH = 32
BPM_RANGE = (Decimal("20"), Decimal("300"))
BARS_RANGE = (1, 256)
KEY_PATTERN = re.compile(r"^[A-G](#|b)?(m|min|maj)?$")
EXTENSIONS = {"WAV": "wav", "FLAC": "flac", "AIFF": "aiff"}

# The statements the artist ticks, kept verbatim in every receipt: a receipt must say what was
# attested, not only that "attestation 2" was true.
ATTESTATIONS: dict[str, str] = {
    "made_it_and_holds_rights": "I made this sound and I hold all the rights needed to license it.",
    "no_uncleared_samples": "It contains no samples or recordings of others that I have not cleared.",
    "not_ai_generated": "It was not generated, in whole or in part, by AI music tools.",
    "accepts_terms_version": "I accept the terms of license version {version}.",
}
BOOLEAN_ATTESTATIONS = ("made_it_and_holds_rights", "no_uncleared_samples", "not_ai_generated")

# Statuses an artist may withdraw from, and the legal moves of the review lifecycle.
TRANSITIONS: dict[str, set[str]] = {
    StemStatus.PROCESSING: {StemStatus.IN_REVIEW, StemStatus.REJECTED, StemStatus.WITHDRAWN},
    StemStatus.IN_REVIEW: {
        StemStatus.APPROVED,
        StemStatus.REJECTED,
        StemStatus.CHANGES_REQUESTED,
        StemStatus.WITHDRAWN,
    },
    StemStatus.CHANGES_REQUESTED: {
        StemStatus.IN_REVIEW,
        StemStatus.REJECTED,
        StemStatus.WITHDRAWN,
    },
    StemStatus.APPROVED: {StemStatus.WITHDRAWN, StemStatus.TAKEN_DOWN},
    StemStatus.TAKEN_DOWN: {StemStatus.APPROVED},
    StemStatus.REJECTED: set(),
    StemStatus.WITHDRAWN: set(),
}


def max_upload_bytes() -> int:
    return int(getattr(settings, "STEM_MAX_UPLOAD_BYTES", 200 * 1024 * 1024))


# --- Licenses ----------------------------------------------------------------------------------


@transaction.atomic
def license_template_publish(*, version: int, title: str, terms: str) -> LicenseTemplate:
    """Publish a license version. Published terms never change: the same version with other
    terms is refused, the same version with the same terms is a no-op."""
    terms_sha256 = hashlib.sha256(terms.encode()).hexdigest()
    existing = LicenseTemplate.objects.filter(version=version).first()
    if existing is not None:
        if existing.terms_sha256 != terms_sha256:
            raise Conflict(
                "license_version_exists",
                f"License version {version} is already published with other terms; "
                "publish the new text as a new version.",
            )
        return existing
    license_ = LicenseTemplate(
        version=version, title=title, terms=terms, terms_sha256=terms_sha256, is_current=True
    )
    license_.full_clean()
    license_.save()
    # One current version: new contributions default to it; older ones stay valid for receipts.
    LicenseTemplate.objects.exclude(pk=license_.pk).update(is_current=False)
    audit_record(
        actor=None,
        action="license.published",
        subject=f"license:{version}",
        after={"version": version, "title": title, "terms_sha256": terms_sha256},
    )
    return license_


# --- Input validation (no writes) ----------------------------------------------------------------


def _invalid(field: str, message: str, code: str = "invalid") -> ApplicationError:
    return ApplicationError(code, message, fields={field: [message]})


def _tags(value: Any, field: str) -> list[str]:
    if value in (None, ""):
        return []
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise _invalid(field, f"Give {field} as a list or a comma-separated text.")
    cleaned: list[str] = []
    for item in items:
        tag = str(item).strip().lower()
        if not tag:
            continue
        if len(tag) > MAX_TAG_LENGTH:
            raise _invalid(field, f"The {field} tag {tag[:20]!r}… is longer than {MAX_TAG_LENGTH}.")
        if tag not in cleaned:
            cleaned.append(tag)
    if len(cleaned) > MAX_TAGS:
        raise _invalid(field, f"Give at most {MAX_TAGS} {field} tags.")
    return cleaned


def clean_metadata(data: dict[str, Any], *, label: str = "") -> dict[str, Any]:
    """Normalise one stem's metadata or raise ApplicationError naming the field to fix."""
    prefix = f"{label}: " if label else ""
    title = str(data.get("title") or "").strip()
    if not title:
        raise _invalid("title", f"{prefix}Give the stem a title.")
    if len(title) > 200:
        raise _invalid("title", f"{prefix}The title is longer than 200 characters.")
    kind = str(data.get("kind") or "")
    if kind not in StemKind.values:
        raise _invalid("kind", f"{prefix}Choose a kind: {', '.join(StemKind.values)}.")
    role = str(data.get("role") or "")
    if role not in StemRole.values:
        raise _invalid("role", f"{prefix}Choose a role: {', '.join(StemRole.values)}.")
    bpm: Decimal | None = None
    raw_bpm = data.get("bpm")
    if raw_bpm not in (None, ""):
        try:
            bpm = Decimal(str(raw_bpm)).quantize(Decimal("0.01"))
        except InvalidOperation:
            raise _invalid("bpm", f"{prefix}The BPM must be a number, like 120.") from None
        if not bpm.is_finite() or not BPM_RANGE[0] <= bpm <= BPM_RANGE[1]:
            raise _invalid("bpm", f"{prefix}The BPM must be between 20 and 300.")
    bars: int | None = None
    raw_bars = data.get("bars")
    if raw_bars not in (None, ""):
        try:
            bars = int(str(raw_bars))
        except ValueError:
            raise _invalid("bars", f"{prefix}Bars must be a whole number, like 4.") from None
        if not BARS_RANGE[0] <= bars <= BARS_RANGE[1]:
            raise _invalid("bars", f"{prefix}Bars must be between 1 and 256.")
    if kind == StemKind.LOOP and (bpm is None or bars is None):
        raise _invalid(
            "bpm" if bpm is None else "bars",
            f"{prefix}A loop needs its tempo (BPM) and its length in bars.",
        )
    key = str(data.get("musical_key", data.get("key")) or "").strip()
    if key and not KEY_PATTERN.match(key):
        raise _invalid(
            "musical_key", f"{prefix}Write the key like C, F#, Bb, Am or F#m (got {key!r})."
        )
    description = str(data.get("description") or "").strip()
    if len(description) > 5000:
        raise _invalid("description", f"{prefix}The description is longer than 5000 characters.")
    return {
        "title": title,
        "kind": kind,
        "role": role,
        "bpm": bpm,
        "bars": bars,
        "musical_key": key,
        "moods": _tags(data.get("moods"), "moods"),
        "genres": _tags(data.get("genres"), "genres"),
        "description": description,
    }


def _credit_user(who: Any) -> User:
    username = who.username if isinstance(who, User) else str(who or "").strip().lstrip("@")
    user = User.objects.filter(username=username, role=Role.ARTIST, is_active=True).first()
    if user is None:
        raise _invalid("credits", f"{username!r} is not a registered artist on Stemvault.")
    return user


def clean_credits(
    credits: Sequence[dict[str, Any]] | None, *, artist: User
) -> list[tuple[User, int]]:
    """Credits as (artist, basis points); splits in percent with at most 2 decimals summing to
    exactly 100. No credits at all means the contributing artist gets 100%."""
    if not credits:
        return [(artist, 10000)]
    result: list[tuple[User, int]] = []
    seen: set[int] = set()
    for entry in credits:
        if not isinstance(entry, dict):
            raise _invalid("credits", "Each credit needs an artist and a split_percent.")
        user = _credit_user(entry.get("artist"))
        try:
            percent = Decimal(str(entry.get("split_percent")))
        except InvalidOperation:
            raise _invalid(
                "credits", f"The split for {user.username} must be a percentage, like 50."
            ) from None
        if not percent.is_finite() or percent <= 0 or percent > 100:
            raise _invalid(
                "credits", f"The split for {user.username} must be above 0% and at most 100%."
            )
        if percent != percent.quantize(Decimal("0.01")):
            raise _invalid(
                "credits", f"The split for {user.username} has more than 2 decimals ({percent}%)."
            )
        if user.pk in seen:
            raise _invalid("credits", f"{user.username} is credited twice; give one split each.")
        seen.add(user.pk)
        # Exact: a 2-decimal percentage is a whole number of basis points.
        result.append((user, int(percent * 100)))
    total = sum(bps for _, bps in result)
    if total != 10000:
        raise _invalid(
            "credits",
            f"The splits add up to {Decimal(total) / 100:.2f}%; they must add up to exactly 100%.",
            code="credits_total",
        )
    return result


def clean_attestations(attestations: dict[str, Any], *, license_version: int) -> dict[str, Any]:
    missing = [key for key in BOOLEAN_ATTESTATIONS if attestations.get(key) is not True]
    if missing:
        statements = " / ".join(ATTESTATIONS[key] for key in missing)
        raise ApplicationError(
            "attestation_missing",
            f"Confirm every statement before contributing. Not confirmed: {statements}",
            fields={key: ["Confirm this statement."] for key in missing},
        )
    accepted = attestations.get("accepts_terms_version")
    try:
        accepted_version = int(str(accepted)) if accepted not in (None, "", False) else None
    except (TypeError, ValueError):
        accepted_version = None
    if accepted_version != license_version:
        raise ApplicationError(
            "attestation_missing",
            f"Accept the terms of license version {license_version} to contribute under it.",
            fields={"accepts_terms_version": ["Accept the license terms."]},
        )
    return {
        **{key: True for key in BOOLEAN_ATTESTATIONS},
        "accepts_terms_version": license_version,
    }


@dataclass
class _Prepared:
    upload: Any
    filename: str
    raw: bytes
    audio: Audio
    file_sha256: str
    pcm_sha256: str
    metadata: dict[str, Any]
    credits: list[tuple[User, int]]


def _read_upload(upload: Any, filename: str, limit: int) -> bytes:
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise AudioRejected(
            "too_large",
            f"The file is larger than the {limit / 1_000_000:.1f} MB limit; send a shorter "
            "excerpt or a FLAC (lossless, about half the size of WAV).",
        )
    if hasattr(upload, "seek"):
        upload.seek(0)
    # One byte past the limit tells "too large" apart from "exactly at the limit".
    raw = upload.read(limit + 1)
    return raw if isinstance(raw, bytes) else bytes(raw)


def _prepare_file(upload: Any, metadata: dict[str, Any], *, label: str) -> _Prepared:
    raw_name = getattr(upload, "name", "") or ""
    try:
        filename = validate_filename(str(raw_name))
        limit = max_upload_bytes()
        raw = _read_upload(upload, filename, limit)
        audio = validate_upload(raw, filename=filename, kind=metadata["kind"], max_bytes=limit)
    except AudioRejected as exc:
        status = 413 if exc.code == "too_large" else 400
        name = repr(str(raw_name)) if raw_name else "the file"
        raise ApplicationError(
            exc.code, f"{name}: {exc.message}", fields={"files": [exc.message]}, status=status
        ) from None
    if audio.format not in EXTENSIONS:  # validate_upload only passes these, but be explicit
        raise ApplicationError("unsupported_container", f"{filename}: send WAV, FLAC or AIFF.")
    return _Prepared(
        upload=upload,
        filename=filename,
        raw=raw,
        audio=audio,
        file_sha256=hashlib.sha256(raw).hexdigest(),
        pcm_sha256=pcm_sha256(audio),
        metadata=metadata,
        credits=[],
    )


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


def _storage_name(prepared: _Prepared) -> str:
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
        raise _invalid("files", "Choose at least one audio file (WAV, FLAC or AIFF).")
    if len(files) > MAX_FILES_PER_SUBMISSION:
        raise _invalid("files", f"Send at most {MAX_FILES_PER_SUBMISSION} files at once.")
    if len(metadata) != len(files):
        raise _invalid("metadata", f"Give metadata for each of the {len(files)} files.")
    license_ = LicenseTemplate.objects.filter(version=license_version).first()
    if license_ is None:
        raise _invalid(
            "license_version", f"There is no license version {license_version}.", "no_license"
        )
    clean_attestation = clean_attestations(attestations, license_version=license_.version)
    per_stem_credits = bool(credits) and all(isinstance(c, list | tuple) for c in credits or [])
    if per_stem_credits and len(credits or []) != len(files):
        raise _invalid("credits", f"Give credits for each of the {len(files)} files.")
    labels = [str(getattr(f, "name", "") or f"file {i + 1}") for i, f in enumerate(files)]
    prepared: list[_Prepared] = []
    for index, (upload, meta) in enumerate(zip(files, metadata, strict=True)):
        label = labels[index] if len(files) > 1 else ""
        clean = clean_metadata(meta, label=label)
        stem_credits = credits[index] if per_stem_credits else credits  # type: ignore[index]
        item = _prepare_file(upload, clean, label=label)
        item.credits = clean_credits(stem_credits, artist=artist)  # type: ignore[arg-type]
        prepared.append(item)
    hashes = [item.pcm_sha256 for item in prepared]
    if len(set(hashes)) != len(hashes):
        raise _invalid("files", "Two of the files hold the same audio; send each sound once.")
    existing = _existing_duplicate(hashes)
    if existing is not None:
        raise _duplicate_error(existing, artist=artist)

    stored: list[str] = []
    try:
        for item in prepared:
            # Streamed from the upload (a temporary file for large ones), not the client's name.
            source = item.upload if hasattr(item.upload, "chunks") else ContentFile(item.raw)
            if hasattr(source, "seek"):
                source.seek(0)
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
    prepared: list[_Prepared],
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
            size_bytes=len(item.raw),
            file_sha256=item.file_sha256,
            pcm_sha256=item.pcm_sha256,
            audio_format=audio.format,
            sample_rate=audio.sample_rate,
            channels=audio.channels,
            duration_s=round(audio.duration_s, 6),
            **item.metadata,
        )
        # Uniqueness is the database's job here: the constraint, not a racy pre-query.
        stem.full_clean(validate_unique=False, validate_constraints=False)
        stem.save()
        for user, bps in item.credits:
            credit = Credit(stem=stem, artist=user, split_bps=bps)
            credit.full_clean(validate_unique=False, validate_constraints=False)
            credit.save()
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


# --- Lifecycle -----------------------------------------------------------------------------------


def _announce_review(stem: Stem) -> None:
    def send() -> None:
        for receiver, response in stem_entered_review.send_robust(sender=Stem, stem=stem):
            if isinstance(response, Exception):
                logger.error(
                    "stem_entered_review receiver %r failed for stem %s: %r",
                    receiver,
                    stem.pk,
                    response,
                )

    transaction.on_commit(send, robust=True)


@transaction.atomic
def stem_transition(*, stem: Stem, to: str, actor: Any, reason: str = "", note: str = "") -> Stem:
    """Move a stem along its lifecycle (see TRANSITIONS); a move to where it already is is a
    no-op. Entering in_review sends `stem_entered_review` after commit."""
    locked = Stem.objects.select_for_update().get(pk=stem.pk)
    if locked.status == to:
        return locked
    if to not in TRANSITIONS.get(locked.status, set()):
        raise Conflict(
            "illegal_transition",
            f"A stem that is {locked.get_status_display().lower()} cannot become "
            f"{StemStatus(to).label.lower()}.",
        )
    before = {"status": locked.status}
    locked.status = to
    fields = ["status", "updated_at"]
    if to == StemStatus.REJECTED:
        locked.rejection_reason = reason
        fields.append("rejection_reason")
    if to == StemStatus.WITHDRAWN:
        locked.withdrawn_at = timezone.now()
        fields.append("withdrawn_at")
    locked.save(update_fields=fields)
    audit_record(
        actor=actor,
        action=f"stem.{to}",
        subject=f"stem:{locked.pk}",
        stem=locked,
        before=before,
        after={"status": to, **({"reason": reason} if reason else {})},
        note=note,
    )
    if to == StemStatus.IN_REVIEW:
        _announce_review(locked)
    return locked


def stem_withdraw(*, stem: Stem, actor: User) -> Stem:
    """The artist takes their stem out of the vault. It leaves every future render; mixes that
    already used it keep their record (MixStem rows are not touched)."""
    if stem.artist_id != getattr(actor, "pk", None):
        raise PermissionDenied(
            "not_your_stem", "Only the artist who contributed a stem can withdraw it."
        )
    if stem.status in (StemStatus.REJECTED, StemStatus.TAKEN_DOWN):
        raise Conflict(
            "cannot_withdraw",
            f"This stem was {stem.get_status_display().lower()}; there is nothing to withdraw.",
        )
    return stem_transition(stem=stem, to=StemStatus.WITHDRAWN, actor=actor)


_UNCHANGED: Any = object()
EDITABLE_STATUSES = {StemStatus.PROCESSING, StemStatus.IN_REVIEW, StemStatus.CHANGES_REQUESTED}


@transaction.atomic
def stem_update_metadata(
    *,
    stem: Stem,
    actor: User,
    title: Any = _UNCHANGED,
    role: Any = _UNCHANGED,
    bpm: Any = _UNCHANGED,
    bars: Any = _UNCHANGED,
    musical_key: Any = _UNCHANGED,
    moods: Any = _UNCHANGED,
    genres: Any = _UNCHANGED,
    description: Any = _UNCHANGED,
) -> Stem:
    """Edit what the artist said about a stem (for a resubmission after changes were requested).

    Only the contributing artist (or platform staff) may edit, and only before approval. The
    status is left alone: the review domain moves the stem back to in_review (stem_transition).
    """
    locked = Stem.objects.select_for_update().get(pk=stem.pk)
    if locked.artist_id != actor.pk and not actor.is_platform_staff:
        raise PermissionDenied("not_your_stem", "Only the stem's artist can edit its details.")
    if locked.status not in EDITABLE_STATUSES:
        raise Conflict(
            "not_editable",
            f"A stem that is {locked.get_status_display().lower()} can no longer be edited.",
        )
    current = {
        "title": locked.title,
        "kind": locked.kind,
        "role": locked.role,
        "bpm": locked.bpm,
        "bars": locked.bars,
        "musical_key": locked.musical_key,
        "moods": locked.moods,
        "genres": locked.genres,
        "description": locked.description,
    }
    changes = {
        key: value
        for key, value in {
            "title": title,
            "role": role,
            "bpm": bpm,
            "bars": bars,
            "musical_key": musical_key,
            "moods": moods,
            "genres": genres,
            "description": description,
        }.items()
        if value is not _UNCHANGED
    }
    clean = clean_metadata({**current, **changes})
    before = {key: _jsonable(current[key]) for key in changes}
    for key in changes:
        setattr(locked, key, clean[key])
    locked.full_clean(validate_unique=False, validate_constraints=False)
    locked.save()
    if "bpm" in changes:
        # The declared tempo feeds the quality check; re-judge it from the stored analysis.
        from portal.stems.provenance import quality_recheck

        quality_recheck(stem=locked)
    audit_record(
        actor=actor,
        action="stem.metadata_updated",
        subject=f"stem:{locked.pk}",
        stem=locked,
        before=before,
        after={key: _jsonable(clean[key]) for key in changes},
    )
    return locked


def _jsonable(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


# --- Rendered audio (the self-output guard) --------------------------------------------------------


def rendered_audio_register(
    *, key: str, samples: npt.NDArray[np.float32], sample_rate: int
) -> RenderedAudio:
    """Fingerprint a render and add it to the self-output index. Idempotent on `key`: the
    renderer calls this after every render, and a retried render registers nothing twice."""
    existing = RenderedAudio.objects.filter(key=key).first()
    if existing is not None:
        return existing
    if not key or len(key) > 64:
        raise ApplicationError("invalid_key", "A rendered audio key has 1 to 64 characters.")
    fp = fingerprint(np.asarray(samples, dtype=np.float32), int(sample_rate))
    try:
        with transaction.atomic():
            return RenderedAudio.objects.create(
                key=key, fingerprint=fp.to_bytes(), duration_s=round(fp.duration_s, 6)
            )
    except IntegrityError:
        return RenderedAudio.objects.get(key=key)


def metadata_per_file(*, files: Sequence[Any], common: dict[str, Any]) -> list[dict[str, Any]]:
    """One metadata dict per file from one shared set of fields (the web form, the API's
    single-object form): each stem's title defaults to its file name, and a shared title with
    several files becomes "<title> – <file name>" so the stems stay tellable apart."""
    result = []
    for upload in files:
        name = str(getattr(upload, "name", "") or "").strip()
        base = name.rsplit(".", 1)[0] if "." in name else name
        base = base.replace("_", " ").strip() or "Untitled"
        title = str(common.get("title") or "").strip()
        if not title:
            title = base
        elif len(files) > 1:
            title = f"{title} – {base}"
        result.append({**common, "title": title[:200]})
    return result
