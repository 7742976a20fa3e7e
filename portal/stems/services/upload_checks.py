"""Judging one contributed file before anything is stored: its name, size, container and
decoded signal (renderer.validate), and the one error that names every file's problems.

Split from submission.py, which stores and records what passes here."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from portal.accounts.models import User
from portal.core.errors import ApplicationError
from renderer.analysis import estimate_bpm, waveform_peaks
from renderer.validate import (
    AudioRejected,
    CheckedUpload,
    load_upload,
    validate_filename,
    validate_upload,
)

EXTENSIONS = {"WAV": "wav", "FLAC": "flac", "AIFF": "aiff"}


def max_upload_bytes() -> int:
    return int(getattr(settings, "STEM_MAX_UPLOAD_BYTES", 200 * 1024 * 1024))


@dataclass
class Prepared:
    upload: Any
    filename: str
    size_bytes: int
    audio: CheckedUpload
    file_sha256: str
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
    # One byte past the limit tells "too large" apart from "exactly at the limit". A read asks
    # for its whole size up front (read(n) allocates n bytes, then shrinks), so ask for the
    # upload's own size, not the limit: 200 MB per small file is what twenty files would cost.
    expected = min(size, limit) if isinstance(size, int) and size >= 0 else limit
    first = upload.read(expected + 1)
    raw: bytes = first if isinstance(first, bytes) else bytes(first)
    if expected < len(raw) <= limit:  # longer than its size said: read on, up to the limit
        raw += bytes(upload.read(limit + 1 - len(raw)))
    return raw


def prepare_file(upload: Any, metadata: dict[str, Any], *, label: str) -> Prepared:
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
    # validate_upload only passes these, but be explicit. A WAV is judged by what its fmt chunk
    # holds (renderer.dsp.chunks.read_wave_format, the reader validate_upload used), never by
    # libsndfile's name for its header: a WAVE_FORMAT_EXTENSIBLE 24-bit file is a WAV.
    wave = audio.wave
    if audio.format not in EXTENSIONS or (audio.format == "WAV" and not (wave and wave.linear)):
        raise ApplicationError("unsupported_container", f"{filename}: send WAV, FLAC or AIFF.")
    return Prepared(
        upload=upload,
        filename=filename,
        size_bytes=len(raw),
        audio=audio,
        file_sha256=hashlib.sha256(raw).hexdigest(),
        metadata=metadata,
        credits=[],
    )


def files_error(
    problems: list[tuple[int, ApplicationError]],
    labels: list[str],
    *,
    general: list[ApplicationError] | None = None,
) -> ApplicationError:
    """One error for everything that keeps a contribution out: the files' problems (as
    `file_errors`: index, file, field and message of each, so a page shows each next to its
    file and field) and the contribution's own (`general`, e.g. a statement not confirmed, by
    their fields). A single problem keeps its own code and status (413 for a file over the
    limit). `files_judged` tells a page every file was judged, so it need not judge them again."""
    general = general or []
    file_errors = [
        {"index": index, "file": labels[index], "field": field, "message": message}
        for index, exc in problems
        for field, messages in (exc.fields or {"files": [exc.message]}).items()
        for message in messages
    ]
    extra = {"file_errors": file_errors, "files_judged": True}
    everything = [exc for _, exc in problems] + general
    if len(everything) == 1:
        only = everything[0]
        only.extra = {**only.extra, **extra}
        return only
    fields: dict[str, list[str]] = {}
    for exc in general:
        for field, messages in (exc.fields or {}).items():
            fields.setdefault(field, []).extend(messages)
    if problems:
        fields["files"] = [exc.message for _, exc in problems]
    statuses = {exc.status for exc in everything}
    summary = (
        f"{len({index for index, _ in problems})} of the {len(labels)} files need fixing: "
        if problems
        else ""
    ) + " ".join(exc.message for exc in everything)
    return ApplicationError(
        "invalid_files" if problems else everything[0].code,
        summary,
        fields=fields,
        status=statuses.pop() if len(statuses) == 1 else 400,
        extra=extra,
    )


PREVIEW_WAVEFORM_POINTS = 160
ONE_SHOT_MAX_S = 10.0  # renderer.validate's longest one-shot
LOOP_MAX_S = 120.0  # and longest loop


def measure_upload(upload: Any) -> dict[str, Any]:
    """What the contribute page fills in for the artist to confirm before sending a file: its
    length, format, measured tempo and bars, a suggested kind, and waveform peaks to draw.

    The file goes through the same name, size and container checks as a contribution (and is
    decoded within the same budget), so a file that would be refused is refused here already,
    with the same message. Nothing is stored.
    """
    filename = str(getattr(upload, "name", "") or "the file")
    limit = max_upload_bytes()
    try:
        filename = validate_filename(filename)
        raw = _read_upload(upload, filename, limit)
        # The kind is the artist's to choose: judge by the longest kind, and a sound too short
        # for it by the shortest (one-shots), so any file some kind accepts is measured.
        kind = "field-recording"
        try:
            checked = validate_upload(raw, filename=filename, kind=kind, max_bytes=limit)
        except AudioRejected as exc:
            if exc.code != "duration":
                raise
            kind = "one-shot"
            checked = validate_upload(raw, filename=filename, kind=kind, max_bytes=limit)
        audio = load_upload(raw, kind=kind)
    except AudioRejected as exc:
        status = 413 if exc.code == "too_large" else 400
        raise ApplicationError(exc.code, f"{filename}: {exc.message}", status=status) from None
    duration = checked.duration_s
    bpm = estimate_bpm(audio.samples, audio.sample_rate) if duration > 2.0 else None
    bars = max(1, round(duration * bpm / 240.0)) if bpm else None  # 4/4: four beats a bar
    if duration <= ONE_SHOT_MAX_S and bpm is None:
        suggested = "one-shot"
    elif duration <= LOOP_MAX_S and bpm is not None:
        suggested = "loop"
    else:
        suggested = "stem"
    return {
        "file": filename,
        "format": checked.format,
        "sample_rate": checked.sample_rate,
        "channels": checked.channels,
        "duration_s": round(duration, 3),
        "bpm_estimate": round(bpm, 1) if bpm else None,
        "bars_estimate": bars,
        "suggested_kind": suggested,
        "waveform": waveform_peaks(audio.samples, PREVIEW_WAVEFORM_POINTS),
    }


def file_problems(files: list[Any], kinds: list[str | None]) -> list[dict[str, Any]]:
    """The upload checks of each file whose kind is known, as file_errors: so a form whose other
    fields are wrong still says, in the same answer, which files would be refused and why."""
    problems: list[dict[str, Any]] = []
    labels = [str(getattr(f, "name", "") or f"file {i + 1}") for i, f in enumerate(files)]
    for index, (upload, kind) in enumerate(zip(files, kinds, strict=True)):
        if kind is None:
            continue
        try:
            prepare_file(upload, {"kind": kind}, label=labels[index])
        except ApplicationError as exc:
            for message in (exc.fields or {}).get("files", [exc.message]):
                problems.append(
                    {"index": index, "file": labels[index], "field": "files", "message": message}
                )
    return problems
