"""Where the portal meets the stream engine (renderer.stream) and its container (renderer.stream.hls):
the one module of portal/streams that imports them, so the rest of the domain speaks in rows.

Also what a worker shares between the listeners it renders for: the decode cache (one stem decode
serves every listener) and the vault as the planner sees it, read again only when the vault's
version (one aggregate query) says it changed.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any

import numpy as np
from django.conf import settings
from django.core.files.storage import default_storage
from django.db.models import Count, Max, Sum

from portal.mixes.selectors import renderable_stems
from portal.stems.models import Stem
from renderer import stream
from renderer.stems import StemCache
from renderer.stream import hls

SAMPLE_RATE = stream.SAMPLE_RATE
CHANNELS = stream.CHANNELS
Controls = stream.Controls
StreamEvent = stream.StreamEvent
StreamState = stream.StreamState
Segment = stream.Segment
VaultStem = stream.VaultStem

STEM_CACHE = StemCache(max_bytes=int(getattr(settings, "STREAM_STEM_CACHE_BYTES", 512 * 1024**2)))


def segment_seconds() -> float:
    return float(getattr(settings, "STREAM_SEGMENT_SECONDS", 2.0))


def segment_frames() -> int:
    return round(segment_seconds() * SAMPLE_RATE)


def stream_settings() -> Any:
    return stream.StreamSettings(segment_frames=segment_frames())


def vault_stem(stem: Stem) -> Any:
    return VaultStem(
        id=str(stem.pk),
        role=str(stem.role),
        kind=str(stem.kind),
        moods=frozenset(str(m).strip().lower() for m in (stem.moods or []) if str(m).strip()),
        bpm=float(stem.bpm) if stem.bpm else None,
        key=stem.musical_key or None,
        duration_s=float(stem.duration_s),
        content_sha256=str(stem.file_sha256),
    )


_vault_lock = threading.Lock()
_vault_cache: dict[str, tuple[tuple[Any, ...], list[Any]]] = {}


def vault_version() -> tuple[Any, ...]:
    """Changes whenever the approved set or an approved stem does: a takedown or withdrawal
    lowers the count (or, with an approval at the same time, the approval's transition raises
    the latest `updated_at`), and every save of a stem (a transition, an edit) bumps its
    `updated_at`. The sum of ids tells apart two sets of one size and the same latest stem."""
    row = (
        renderable_stems()
        .order_by()
        .aggregate(count=Count("pk"), latest=Max("updated_at"), ids=Sum("pk"))
    )
    return (row["count"], row["latest"], row["ids"])


def forget_kept() -> None:
    """Drop the kept vault (tests, whose rolled-back databases reuse ids)."""
    with _vault_lock:
        _vault_cache.clear()


def vault_now() -> list[Any]:
    """The approved stems as the planner sees them: licence as of the moment a segment is planned.

    Read again only when `vault_version` changed since the last read in this process, so every
    segment planned after an approval or a takedown commits sees it, at the cost of one
    aggregate query instead of every approved stem. The version is read before the stems: a
    change committed between the two reads is then read again next time, never kept."""
    version = vault_version()
    with _vault_lock:
        cached = _vault_cache.get("vault")
    if cached is not None and cached[0] == version:
        return cached[1]
    stems = [vault_stem(stem) for stem in renderable_stems()]
    with _vault_lock:
        _vault_cache["vault"] = (version, stems)
    return stems


def load_stem(ref: Any) -> bytes:
    """The engine's loader: a stem's stored bytes, checked against the content hash planned."""
    stem = Stem.objects.filter(pk=int(ref.id)).first() if str(ref.id).isdigit() else None
    if stem is None:
        raise FileNotFoundError(f"stem {ref.id} no longer exists")
    with default_storage.open(stem.audio.name, "rb") as handle:
        data: bytes = handle.read()
    expected = getattr(ref, "content_sha256", None)
    if expected and hashlib.sha256(data).hexdigest() != expected:
        raise ValueError(f"stored audio of stem {ref.id} is not the file that was planned")
    return data


def controls_of(data: dict[str, Any]) -> Any:
    return Controls(
        mood=str(data["mood"]),
        intensity=float(data["intensity"]),
        bpm=data.get("bpm"),
        key=data.get("key"),
    )


def stream_open(*, seed: int, controls: dict[str, Any]) -> Any:
    return stream.stream_open(seed=seed, controls=controls_of(controls), settings=stream_settings())


def state_from_json(data: dict[str, Any]) -> Any:
    return StreamState.from_json(data)


def render_segment(
    state: Any,
    *,
    vault: list[Any],
    events: list[Any],
    excluded: frozenset[str],
    weights: dict[str, float],
) -> Any:
    return stream.render_segment(
        state,
        vault=vault,
        events=events,
        excluded=excluded,
        weights=weights,
        load=load_stem,
        cache=STEM_CACHE,
        settings=stream_settings(),
    )


def first_change_frame(state: Any, at_frame: int) -> int:
    return int(stream.first_change_frame(state, at_frame, stream_settings()))


def delivered_pcm(segment: Any) -> np.ndarray:
    """The segment's dithered 16-bit samples, made once for both the encoder and the manifest."""
    return hls.quantise_dithered(segment.samples, start_frame=segment.start_frame)


def segment_manifest(
    segment: Any, *, session_id: str, seed: int, vault: list[Any], pcm: np.ndarray | None = None
) -> dict[str, Any]:
    manifest: dict[str, Any] = stream.segment_manifest(
        segment, session_id=session_id, seed=seed, vault=vault, pcm=pcm
    )
    return manifest


def media_segment(segment: Any, pcm: np.ndarray | None = None) -> bytes:
    return hls.media_segment(
        segment.samples, sequence=segment.index, start_frame=segment.start_frame, pcm=pcm
    )


def embed_manifest(data: bytes, signed: dict[str, Any]) -> bytes:
    return hls.embed_segment_manifest(data, signed)


def extract_manifest(data: bytes) -> dict[str, Any] | None:
    return hls.extract_segment_manifest(data)


def init_segment() -> bytes:
    return hls.init_segment(sample_rate=SAMPLE_RATE, channels=CHANNELS)


def decode(init: bytes, segments: list[bytes]) -> Any:
    return hls.decode_segments(init, segments)


def media_playlist(
    *, segments: list[tuple[int, float, str]], init_uri: str, ended: bool, can_block_reload: bool
) -> str:
    # RFC 8216 4.3.3.1: each EXTINF rounded to the nearest integer is at most the target.
    return hls.media_playlist(
        segments=segments,
        target_duration=target_duration(),
        init_uri=init_uri,
        ended=ended,
        can_block_reload=can_block_reload,
    )


def target_duration() -> int:
    """EXT-X-TARGETDURATION: the segment length rounded, whole seconds (RFC 8216 4.3.3.1)."""
    return max(1, round(segment_seconds()))


CODECS = hls.CODECS
