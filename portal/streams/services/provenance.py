"""Provenance of stream audio: each segment's manifest signed with the platform key, as renders
are, and the stream's audio in the self-output guard, STREAM_SELF_OUTPUT_SECONDS at a time, so an
upload of a recorded excerpt of any stream is refused like an excerpt of a render."""

from __future__ import annotations

import copy
import threading
import time
from functools import lru_cache
from typing import Any

from django.core.files.storage import default_storage

from portal.mixes.keys import signing_key_pem
from portal.mixes.rendering import stems_meta_for
from portal.stems.models import RenderedAudio
from portal.stems.services.rendered_audio import rendered_audio_register
from portal.streams import engine, schedule
from portal.streams.models import SegmentStatus, StreamSegment, StreamSession
from renderer.signing import sign_manifest

# A stem's manifest entry (content hash, licence version, credits, title, role) is fixed once it
# is approved: the licence version and the credits were agreed before the approval (each credited
# artist's consent), the file never changes. So a worker reads it once per stem and keeps it a
# while (an artist's display name may change: it shows within META_TTL_S), under the stem's id
# and the content hash the segment was planned with. A stem that leaves the vault is not
# planned again, so a stale entry of it is never used.
META_TTL_S = 120.0
_meta_lock = threading.Lock()
_meta_cache: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}


def forget_kept() -> None:
    """Drop the kept entries (tests, whose rolled-back databases reuse ids)."""
    with _meta_lock:
        _meta_cache.clear()


def _stems_meta(keys: list[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Each (stem id, planned content hash)'s entry; kept only when the stored stem has that hash
    (a stem fading out after it left the vault has none planned: read, not kept)."""
    now = time.monotonic()
    known: dict[tuple[str, str], dict[str, Any]] = {}
    with _meta_lock:
        for key in keys:
            kept = _meta_cache.get(key)
            if kept is not None and now - kept[0] < META_TTL_S:
                known[key] = kept[1]
    missing = [key for key in keys if key not in known]
    if missing:
        fresh = stems_meta_for({"stems": [{"id": stem_id} for stem_id, _ in missing]})
        for stem_id, sha in missing:
            meta = fresh.get(stem_id)
            if meta is None:
                continue
            known[(stem_id, sha)] = meta
            if meta.get("content_sha256") == sha:
                with _meta_lock:
                    _meta_cache[(stem_id, sha)] = (now, meta)
    return known


def manifest_sign(manifest: dict[str, Any]) -> dict[str, Any]:
    """Add each stem's content hash, licence version and credits (artist ids and basis points,
    what royalties pay from), then sign with the platform key."""
    entries = [e for e in manifest.get("stems") or [] if isinstance(e, dict)]
    keys = [(str(e.get("id")), str(e.get("content_sha256"))) for e in entries]
    meta = _stems_meta(keys)
    for entry, key in zip(entries, keys, strict=True):
        entry.update(copy.deepcopy(meta.get(key, {})))
    return sign_manifest(manifest, signing_key_pem())


@lru_cache(maxsize=1)
def init_bytes() -> bytes:
    """The init segment: the same for every session (48 kHz stereo), so it is made, not stored."""
    return engine.init_segment()


def segment_bytes(segment: StreamSegment) -> bytes:
    with default_storage.open(segment.storage_key, "rb") as handle:
        data: bytes = handle.read()
    return data


def chunk_key(session: StreamSession, number: int) -> str:
    return f"stream:{session.pk}:{number}"


def self_output_register(*, session: StreamSession, below: int, final: bool = False) -> int:
    """Register the whole chunks of the session's segments under index `below` (final: no longer
    replaceable) that are not registered yet, and with `final` (the session is over) the
    trailing partial chunk too. Returns how many chunks it registered."""
    size = schedule.self_output_segments()
    registered = 0
    last = (below - 1) // size
    numbers = range(max(0, last - 1), last + 1)
    done = set(
        RenderedAudio.objects.filter(key__in=[chunk_key(session, n) for n in numbers]).values_list(
            "key", flat=True
        )
    )
    for number in numbers:
        first, end = number * size, min((number + 1) * size, below)
        whole = (number + 1) * size <= below
        key = chunk_key(session, number)
        if end <= first or not (whole or final) or key in done:
            continue
        rows = list(
            StreamSegment.objects.filter(
                session=session, status=SegmentStatus.READY, index__gte=first, index__lt=end
            ).order_by("index")
        )
        if not rows:
            continue
        samples = engine.decode(init_bytes(), [segment_bytes(row) for row in rows])
        rendered_audio_register(
            key=key,
            samples=samples,
            sample_rate=engine.SAMPLE_RATE,
            audio_name=rows[0].storage_key,
            # The stems audible in the chunk: a copy of one of them is a copy of that stem.
            stem_ids=[int(i) for row in rows for i in row.stems if str(i).isdigit()],
        )
        registered += 1
    return registered
