"""Each catalogue stem's audition file: requested as a job, rendered once, stored.

A request never waits for a decode, and a page view writes nothing: a stem's preview job is
queued when the stem enters the vault (stems.signals.stem_entered_vault), or for stems approved
before previews existed by `manage.py catalogue_previews`; until the job has stored the file the
catalogue says "preview being prepared". The job decodes the stem and keeps its first 30 s at
96 kbit/s MP3 (renderer.preview).

Why a preview is not put into the self-output index (stems.RenderedAudio) as mixes are: it
sounds exactly one stem and nothing else, so an upload of it is a copy of that stem, and the
near-duplicate check, which compares every upload with every stem ever submitted (any status, so
a taken-down stem's preview too), already judges it so: refused when another artist uploads it,
flagged for curators when its own artist does (tests/catalogue/test_preview_reupload.py). Indexed
as a render it would add nothing to that and do harm: an upload that layers a vault stem with
other sound matches the stem-only preview as conclusively as the stem itself, and the guard,
which lets only copies (not containment) explain a render match, would then reject as platform
output what the containment check leaves to curators (measured: a 30 s take holding half a
vault stem went from "in review, containment flagged" to "rejected, self-output").
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from portal.catalogue.models import StemPreview
from portal.jobs.services import job_enqueue
from portal.stems.models import Stem, StemStatus
from portal.stems.provenance_checks import load_stem_audio
from renderer import preview as preview_codec
from renderer.audio import load_audio

PREVIEW_JOB_KIND = "catalogue.preview"


def previews_request(*, stems: Iterable[Stem]) -> int:
    """Queue a preview job for each of `stems` that has no preview yet; how many were asked.

    Deduplicated per stem (job_enqueue's dedupe_key): a stem approved, taken down and restored
    has one job, and a stem whose job failed is not queued again (staff rerun it)."""
    wanted = [s.pk for s in stems if s.status == StemStatus.APPROVED]
    if not wanted:
        return 0
    have = set(StemPreview.objects.filter(stem_id__in=wanted).values_list("stem_id", flat=True))
    missing = [pk for pk in wanted if pk not in have]
    for stem_id in missing:
        job_enqueue(
            kind=PREVIEW_JOB_KIND,
            args={"stem_id": stem_id},
            dedupe_key=f"catalogue-preview:{stem_id}",
        )
    return len(missing)


def preview_render(*, stem_id: int) -> dict[str, Any]:
    """Render and store one stem's preview (the job's work). Idempotent: a second run, or a
    stem no longer in the vault, stores nothing."""
    stem = Stem.objects.filter(pk=stem_id).first()
    if stem is None or stem.status != StemStatus.APPROVED:
        return {"stem_id": stem_id, "stored": False, "reason": "not in the vault"}
    existing = StemPreview.objects.filter(stem=stem).first()
    if existing is not None:
        return {"stem_id": stem_id, "stored": False, "reason": "already rendered"}
    _, audio = load_stem_audio(stem)
    data = preview_codec.encode_preview(audio.samples, audio.sample_rate)
    heard = load_audio(data)  # its length as a player will read it
    name = default_storage.save(
        f"previews/{stem.pk}-{uuid.uuid4().hex[:12]}.{preview_codec.EXTENSION}", ContentFile(data)
    )
    try:
        with transaction.atomic():
            StemPreview.objects.create(
                stem=stem,
                audio=name,
                content_type=preview_codec.CONTENT_TYPE,
                bitrate_bps=preview_codec.BITRATE,
                duration_s=round(heard.duration_s, 3),
                size_bytes=len(data),
            )
    except IntegrityError:  # another worker stored it first: keep theirs
        default_storage.delete(name)
        return {"stem_id": stem_id, "stored": False, "reason": "already rendered"}
    except BaseException:
        default_storage.delete(name)
        raise
    return {"stem_id": stem_id, "stored": True, "bytes": len(data)}
