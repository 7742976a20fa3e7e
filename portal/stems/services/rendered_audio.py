"""The self-output guard's index: every render is fingerprinted here, so that an upload of it,
or of an excerpt, is refused."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt
from django.db import IntegrityError, transaction

from portal.core.errors import ApplicationError
from portal.stems.models import RenderedAudio
from renderer.fingerprint import Fingerprint, fingerprint


def rendered_audio_register(
    *,
    key: str,
    samples: npt.NDArray[np.float32],
    sample_rate: int,
    audio_name: str = "",
    fingerprinted: Fingerprint | None = None,
    stem_ids: Iterable[int] = (),
) -> RenderedAudio:
    """Fingerprint a render and add it to the self-output index. Idempotent on `key`: the
    renderer calls this after every render, and a retried render registers nothing twice.
    `audio_name` is where the render's file is stored (to recompute an old-format fingerprint);
    `fingerprinted` is the samples' fingerprint if the caller computed it already: the render
    job does, before it takes the locks under which it registers the stored render; `stem_ids`
    the stems audible in it (its manifest's), so that a copy of one of them is reported as a
    copy of that stem rather than as platform output."""
    existing = RenderedAudio.objects.filter(key=key).first()
    if existing is not None:
        return existing
    if not key or len(key) > 64:
        raise ApplicationError("invalid_key", "A rendered audio key has 1 to 64 characters.")
    fp = fingerprinted or fingerprint(np.asarray(samples, dtype=np.float32), int(sample_rate))
    try:
        with transaction.atomic():
            return RenderedAudio.objects.create(
                key=key,
                fingerprint=fp.to_bytes(),
                duration_s=round(fp.duration_s, 6),
                audio_name=audio_name,
                stem_ids=sorted({int(i) for i in stem_ids}),
            )
    except IntegrityError:
        return RenderedAudio.objects.get(key=key)
