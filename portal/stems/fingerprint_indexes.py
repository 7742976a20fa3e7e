"""Fingerprint indexes of every stem ever submitted and of everything the platform rendered,
cached in each process, for the provenance checks' matching.

Matching needs every stem's fingerprint in memory. Rebuilding that from the database on every
job would cost a full table read per upload, so each process keeps two module-level caches
(`_STEMS` for every stem ever fingerprinted, `_RENDERS` for everything the platform rendered),
each a FingerprintIndex behind a lock (FingerprintIndex mutates itself on query, so queries
hold the lock too). They load incrementally:

* A stem's fingerprint is written by its provenance job, long after the row was created, so
  "pk greater than the last loaded" would miss a stem created earlier but fingerprinted later.
  The stem cache therefore asks for rows touched since its previous sync (updated_at, minus a
  slack that covers transactions still open at that moment), lists (pk, pcm hash) only, and
  fetches fingerprint bytes for the keys it does not hold yet. RenderedAudio rows are written
  once with their fingerprint, so that cache reads rows created since its previous sync (minus
  the same slack: ids are not allocated in commit order).
* The index is a cache and the database is the truth: each key carries the row's pk *and* a
  content hash prefix, every match is re-checked against the database before it counts, and a
  key whose row is gone (a rolled-back transaction, a reused pk) is dropped from the index.
* Status is applied at query time, not by removing postings: near-duplicates count against
  every stem ever submitted (any status), containment only against the vault (approved), so a
  withdrawn or taken-down stem leaves containment the moment its status changes.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import soundfile as sf
from django.core.files.storage import default_storage
from django.utils import timezone

from portal.stems.models import RenderedAudio, Stem
from renderer import clearance
from renderer.audio import load_audio
from renderer.clearance import Confirmed
from renderer.clearance_clip import Clip, downmix
from renderer.fingerprint import Fingerprint, FingerprintIndex, Match, conclusive, fingerprint

logger = logging.getLogger(__name__)

SYNC_SLACK = timedelta(minutes=10)


@dataclass
class _CachedIndex:
    name: str
    index: FingerprintIndex = field(default_factory=FingerprintIndex)
    synced_at: datetime | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)

    def reset(self) -> None:
        with self.lock:
            self.index = FingerprintIndex()
            self.synced_at = None


_STEMS = _CachedIndex("stems")
_RENDERS = _CachedIndex("renders")


def reset_indexes() -> None:
    """Forget the cached indexes (tests; a process that wants a cold start)."""
    _STEMS.reset()
    _RENDERS.reset()


def stem_key(pk: int, pcm_sha256: str) -> str:
    return f"stem:{pk}:{pcm_sha256[:16]}"


def render_key(pk: int, key: str) -> str:
    return f"render:{pk}:{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def _parse_pk(key: str) -> int:
    return int(key.split(":", 2)[1])


def _sync_stems() -> None:
    cache = _STEMS
    started = timezone.now()
    rows = Stem.objects.filter(fingerprint__isnull=False)
    if cache.synced_at is not None:
        rows = rows.filter(updated_at__gte=cache.synced_at - SYNC_SLACK)
    missing = {
        pk: stem_key(pk, pcm)
        for pk, pcm in rows.values_list("pk", "pcm_sha256").iterator()
        if stem_key(pk, pcm) not in cache.index
    }
    ids = list(missing)
    for start in range(0, len(ids), 500):
        batch = Stem.objects.filter(pk__in=ids[start : start + 500]).values_list(
            "pk", "pcm_sha256", "fingerprint"
        )
        for pk, pcm, data in batch:
            if data is not None and stem_key(pk, pcm) == missing.get(pk):
                cache.index.add(missing[pk], _stored_fingerprint(data, Stem, pk))
    cache.synced_at = started


def _stored_fingerprint(data: Any, model: Any, pk: int) -> Fingerprint:
    """A stored fingerprint; one in an older format is recomputed from its audio and saved.

    The fingerprint format is versioned (renderer.fingerprint refuses other versions), so a
    vault fingerprinted by an older engine upgrades itself lazily, row by row.
    """
    try:
        return Fingerprint.from_bytes(bytes(data))
    except ValueError:
        audio_name = _audio_name_for(model, pk)
        with default_storage.open(audio_name, "rb") as handle:
            audio = load_audio(handle.read())
        fresh = fingerprint(audio.samples, audio.sample_rate)
        model.objects.filter(pk=pk).update(fingerprint=fresh.to_bytes())
        logger.info("recomputed an old-format fingerprint for %s %s", model.__name__, pk)
        return fresh


def rebuild_stale_fingerprints() -> dict[str, int]:
    """Recompute every stored fingerprint (stems and renders) this engine's format refuses,
    from its audio, all at once (`manage.py rebuild_fingerprints`) rather than lazily as the
    indexes load them; returns how many of each were rebuilt. Rows already current are left
    as they are, so running it twice rebuilds nothing the second time."""
    rebuilt = {"stems": 0, "renders": 0, "failed": 0}
    for model, label in ((Stem, "stems"), (RenderedAudio, "renders")):
        rows = model.objects.filter(fingerprint__isnull=False).values_list("pk", "fingerprint")
        for pk, data in rows.iterator():
            if data is None:
                continue
            try:
                Fingerprint.from_bytes(bytes(data))
                continue
            except ValueError:
                pass
            try:
                _stored_fingerprint(data, model, pk)
            except (ValueError, OSError) as exc:  # no audio to rebuild from: say so, go on
                logger.warning("cannot rebuild the fingerprint of %s %s: %s", label, pk, exc)
                rebuilt["failed"] += 1
            else:
                rebuilt[label] += 1
    if rebuilt["stems"] or rebuilt["renders"]:
        reset_indexes()  # the cached indexes may hold nothing of the old rows; start cold
    return rebuilt


def _audio_name_for(model: Any, pk: int) -> str:
    if model is Stem:
        return str(Stem.objects.get(pk=pk).audio.name)
    # A render's file name is stored on its row (rendered_audio_register), so stems need not
    # know which domain rendered it.
    name = RenderedAudio.objects.get(pk=pk).audio_name
    if not name:
        raise ValueError(f"rendered audio {pk} has an old-format fingerprint and no audio_name")
    return name


def _sync_renders() -> None:
    cache = _RENDERS
    started = timezone.now()
    rows = RenderedAudio.objects.all()
    if cache.synced_at is not None:
        rows = rows.filter(created_at__gte=cache.synced_at - SYNC_SLACK)
    known = [
        (pk, key)
        for pk, key in rows.values_list("pk", "key").iterator()
        if render_key(pk, key) not in cache.index
    ]
    ids = [pk for pk, _ in known]
    for start in range(0, len(ids), 500):
        for pk, key, data in RenderedAudio.objects.filter(
            pk__in=ids[start : start + 500]
        ).values_list("pk", "key", "fingerprint"):
            cache.index.add(render_key(pk, key), _stored_fingerprint(data, RenderedAudio, pk))
    cache.synced_at = started


def _verified_stems(matches: list[Match]) -> list[tuple[Match, Stem]]:
    """Matches whose stem still exists with the same audio; stale keys leave the index."""
    by_pk = {_parse_pk(m.key): m for m in matches}
    stems = {s.pk: s for s in Stem.objects.filter(pk__in=list(by_pk)).select_related("artist")}
    result = []
    for pk, match in by_pk.items():
        stem = stems.get(pk)
        if stem is None or stem_key(pk, stem.pcm_sha256) != match.key:
            with _STEMS.lock:
                if match.key in _STEMS.index:
                    _STEMS.index.remove(match.key)
            continue
        result.append((match, stem))
    result.sort(key=lambda pair: -pair[0].score)
    return result


def stem_matches(fp: Fingerprint, *, contained: bool, limit: int = 20) -> list[tuple[Match, Stem]]:
    with _STEMS.lock:
        _sync_stems()
        matches = (
            _STEMS.index.find_contained(fp, limit=limit)
            if contained
            else _STEMS.index.query(fp, limit=limit)
        )
    return _verified_stems(matches)


def stem_matches_among(
    fp: Fingerprint, stems: list[tuple[Stem, Fingerprint]]
) -> list[tuple[Match, Stem]]:
    """Near-duplicate matches of `fp` among stems whose fingerprints the index does not hold
    yet (one being judged right now, in a transaction not committed yet), best first."""
    if not stems:
        return []
    index = FingerprintIndex()
    by_key = {}
    for stem, stem_fp in stems:
        key = stem_key(stem.pk, stem.pcm_sha256)
        index.add(key, stem_fp)
        by_key[key] = stem
    return [(m, by_key[m.key]) for m in index.query(fp, limit=len(stems))]


def render_matches(fp: Fingerprint, *, limit: int = 5) -> list[tuple[Match, RenderedAudio]]:
    with _RENDERS.lock:
        _sync_renders()
        # An excerpt of a render is a query match; a render hidden under other sounds is a
        # containment match. Both are the platform's own output.
        found = {m.key: m for m in _RENDERS.index.find_contained(fp, limit=limit)}
        for m in _RENDERS.index.query(fp, limit=limit):
            if m.key not in found or m.score > found[m.key].score:
                found[m.key] = m
    return _verified_renders(sorted(found.values(), key=lambda m: -m.score))


def render_clearance_matches(clip: Clip) -> list[tuple[Confirmed, RenderedAudio]]:
    """The renders a clip from outside comes from, over the self-output guard's index: its
    landmark candidates (renderer.clearance.candidates), each confirmed against the stored
    render's own audio there (renderer.clearance.confirm); the ones `confirmed` keeps."""
    with _RENDERS.lock:
        _sync_renders()
    found = clearance.clip_candidates(_RENDERS.index, clip, _RENDERS.lock)
    bands = clearance.clip_envelopes(clip)
    pairs = [(_confirm(clip, bands, m, row), row) for m, row in _verified_renders(found)]
    row_of = {id(scored): row for scored, row in pairs}
    return [(c, row_of[id(c)]) for c in clearance.confirmed([c for c, _ in pairs])]


def _confirm(clip: Clip, bands: Any, match: Match, row: RenderedAudio) -> Confirmed:
    """`match` confirmed against the render's stored audio around its offset. Audio the
    lookup cannot read back as a file (a stream chunk is stored as fMP4 segments) keeps its
    landmark evidence alone: named only when that is conclusive, at the confirm floor."""
    start = match.item_offset_s - match.query_offset_s
    first = max(0.0, start - clearance.CONFIRM_LAG_S)
    try:
        with default_storage.open(row.audio_name, "rb") as handle, sf.SoundFile(handle) as sound:
            rate = int(sound.samplerate)
            sound.seek(min(round(first * rate), sound.frames))
            seconds = min(clip.duration_s, clearance.CONFIRM_MAX_S)
            frames = round((start - first + seconds + clearance.CONFIRM_LAG_S) * rate)
            stretch = sound.read(frames, dtype="float32", always_2d=True)
    except (OSError, ValueError, RuntimeError, sf.LibsndfileError):
        floor = clearance.CONFIRM_MIN if conclusive(match) else 0.0
        return Confirmed(match=match, similarity=floor, start_s=start)
    mono = downmix(stretch)
    similarity, refined = clearance.confirm(clip, mono, rate, start, clip_bands=bands)
    return Confirmed(match=match, similarity=similarity, start_s=refined)


def _verified_renders(matches: list[Match]) -> list[tuple[Match, RenderedAudio]]:
    """The matches whose render row still exists under the same key, in their order; stale
    keys leave the index (see the module docstring)."""
    rows = {
        r.pk: r for r in RenderedAudio.objects.filter(pk__in=[_parse_pk(m.key) for m in matches])
    }
    result = []
    for match in matches:
        row = rows.get(_parse_pk(match.key))
        if row is None or render_key(row.pk, row.key) != match.key:
            with _RENDERS.lock:
                if match.key in _RENDERS.index:
                    _RENDERS.index.remove(match.key)
            continue
        result.append((match, row))
    return result


def indexed_stems() -> int:
    """How many stems the stem index holds (the checks report what they compared against)."""
    with _STEMS.lock:
        return len(_STEMS.index)


def indexed_renders() -> int:
    """How many renders the self-output index holds."""
    with _RENDERS.lock:
        return len(_RENDERS.index)
