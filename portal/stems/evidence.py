"""Pure evidence helpers for provenance (numpy and the bytes of a file; no Django), so the
benchmark and other tools can run them without settings or a database."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from renderer.audio import Audio
from renderer.dsp.chunks import iter_chunks, list_chunks, wave_format
from renderer.dsp.spectra import BAND_FRAME_S, BAND_HOP_S, band_energies
from renderer.validate import sniff_container

Array = npt.NDArray[np.float32]

# --- How much of the upload does a match explain? -----------------------------------------------

# A match whose aligned audio accounts for this share of the upload's energy over their overlap
# is the same sound (transformed); below it the stem is one layer among others. Measured on the
# corpus: MP3/Ogg round trips, resampling, +-12 dB and 10 dB SNR noise explain >= 0.92; a stem
# layered under another sound at equal level explains <= 0.62.
NEAR_DUPLICATE_EXPLAINED = 0.8
# ...and the overlap must cover at least this share of the upload: a 60 s upload that merely
# starts with a 5 s vault stem contains it rather than duplicating it.
NEAR_DUPLICATE_OVERLAP = 0.5
# A render match is left to the near-duplicate check when the upload copies one of the
# render's stems and the render explains at most this many times the landmarks that stem does:
# the render itself (the stem with the rest of the mix) explains many more than its stem alone.
RENDER_EXPLAINED_BY_STEM = 1.5
K = TypeVar("K")  # how a stem is named: its key in the bench, its pk in the portal


def explaining_stems(
    matched: int, render_stems: Iterable[K], copies: dict[K, int], contained: dict[K, int]
) -> list[K]:
    """The stems of a render (its manifest, `render_stems`) that explain a render match of
    `matched` aligned landmarks on an upload that copies the stems `copies` (stem -> their
    near-duplicate landmarks) and holds the stems `contained` (stem -> containment landmarks).

    A render stem explains the match when the render explains at most RENDER_EXPLAINED_BY_STEM
    times the landmarks the stem does, taking the stem's larger count: its near-duplicate count
    and its containment count (render matches are mostly containment matches, so like is set
    against like). Only an upload that copies some vault stem has its render matches
    explained: an excerpt of a render holds each of its stems too but copies none. A copied
    stem's own material may hold other vault stems (a long stem built from vault loops), and a
    preview of one of those matches the copy through that stem; callers pass `contained` only
    when the upload is refused as a copy anyway (conclusively), so a held stem never turns a
    refusal into an acceptance: on the calibration half a render excerpt where one loop
    dominates resembled that loop (a flag, not a copy) and was otherwise let through."""
    if not copies:
        return []
    via: list[K] = []
    for stem in render_stems:
        own = max(copies.get(stem, 0), contained.get(stem, 0))
        if own and matched <= RENDER_EXPLAINED_BY_STEM * own:
            via.append(stem)
    return via


def _share_at(
    query: npt.NDArray[np.float64], item: npt.NDArray[np.float64], qa: int, ia: int
) -> tuple[float, float]:
    """(explained energy share, overlap frames) of `item` aligned at query frame qa / item ia."""
    if qa < 0 or ia < 0:
        return 0.0, 0.0
    n = min(query.shape[0] - qa, item.shape[0] - ia)
    if n < 4:
        return 0.0, 0.0
    q = query[qa : qa + n]
    it = item[ia : ia + n]
    strong = (it > 0) & (it >= np.quantile(it, 0.5))
    total = float(q.sum())
    if not strong.any() or total <= 0.0:
        return 0.0, float(n)
    # The gain from the cells where the item is loud and a layered sound least likely to add:
    # a low quantile of the ratio, so a second layer does not inflate it.
    gain = float(np.quantile(q[strong] / it[strong], 0.25))
    return float(np.minimum(gain * it, q).sum() / total), float(n)


def explained_share(
    query: Audio, item: Audio, *, query_offset_s: float, item_offset_s: float
) -> tuple[float, float]:
    """Share of the upload's energy (over the overlap) the matched item accounts for, and the
    overlap's share of the upload's duration. Tries the fingerprint's alignment and the best
    envelope cross-correlation (a repetitive loop may align on the wrong repeat)."""
    # A sound shorter than one analysis frame (a 20 ms click) has no envelope to compare.
    for audio in (query, item):
        if audio.samples.shape[0] < round(BAND_FRAME_S * audio.sample_rate):
            return 0.0, 0.0
    eq = band_energies(query.samples, query.sample_rate)
    ei = band_energies(item.samples, item.sample_rate)
    if eq.shape[0] < 4 or ei.shape[0] < 4:
        return 0.0, 0.0
    candidates = {
        round(item_offset_s / BAND_HOP_S) - round(query_offset_s / BAND_HOP_S) + shift
        for shift in (-1, 0, 1)
    }
    # Envelope cross-correlation: lag = item frame - query frame.
    env_q = np.log1p(eq.sum(axis=1) / max(float(eq.sum(axis=1).mean()), 1e-20))
    env_i = np.log1p(ei.sum(axis=1) / max(float(ei.sum(axis=1).mean()), 1e-20))
    env_q -= env_q.mean()
    env_i -= env_i.mean()
    size = 1 << int(np.ceil(np.log2(env_q.shape[0] + env_i.shape[0])))
    corr = np.fft.irfft(np.fft.rfft(env_i, size) * np.conj(np.fft.rfft(env_q, size)), size)
    lags = np.concatenate([np.arange(0, env_i.shape[0]), np.arange(-env_q.shape[0] + 1, 0)])
    values = np.concatenate([corr[: env_i.shape[0]], corr[size - env_q.shape[0] + 1 :]])
    for best in np.argsort(values)[-3:]:
        candidates.update({int(lags[best]) - 1, int(lags[best]), int(lags[best]) + 1})
    best_share, best_overlap = 0.0, 0.0
    for lag in candidates:
        share, overlap = _share_at(eq, ei, max(0, -lag), max(0, lag))
        if share > best_share:
            best_share, best_overlap = share, overlap
    return best_share, min(1.0, best_overlap / eq.shape[0])


# --- Metadata tags -------------------------------------------------------------------------------

GENERATORS = re.compile(
    r"\b(suno|udio|music\s?gen|stable[\s_-]?audio|aiva|soundraw|boomy|mubert|riffusion|jukebox|"
    r"music\s?lm|beatoven|soundful|loudly|ai[\s_-]generated|generated\s+(?:by|with)\s+ai|"
    r"ai\s+music)\b",
    re.IGNORECASE,
)
_RIFF_INFO_NAMES = {
    "INAM": "title",
    "IART": "artist",
    "ICMT": "comment",
    "ISFT": "software",
    "IENG": "engineer",
    "ICOP": "copyright",
    "IGNR": "genre",
    "ISRC": "source",
    "IPRD": "product",
    "IKEY": "keywords",
    "ITCH": "technician",
    "ISBJ": "subject",
}


def _text(value: bytes) -> str:
    value = value.split(b"\x00", 1)[0]
    try:
        return value.decode("utf-8").strip()
    except UnicodeDecodeError:
        return value.decode("latin-1").strip()


def _riff_info(raw: bytes) -> list[tuple[str, str, str]]:
    tags: list[tuple[str, str, str]] = []
    for chunk in iter_chunks(raw):
        if chunk.id == b"LIST" and raw[chunk.body : chunk.body + 4] == b"INFO":
            for sub in list_chunks(raw, chunk):
                sub_id = sub.id.decode("latin-1")
                value = _text(raw[sub.body : sub.end])
                if value:
                    tags.append(
                        ("RIFF INFO", f"{sub_id} ({_RIFF_INFO_NAMES.get(sub_id, '?')})", value)
                    )
    return tags


def _aiff_text(raw: bytes) -> list[tuple[str, str, str]]:
    tags: list[tuple[str, str, str]] = []
    for chunk in iter_chunks(raw, byteorder="big"):
        if chunk.id in (b"NAME", b"AUTH", b"ANNO", b"(c) "):
            value = _text(raw[chunk.body : chunk.end])
            if value:
                tags.append(("AIFF text", chunk.id.decode("latin-1").strip(), value))
    return tags


def _mutagen_tags(raw: bytes) -> list[tuple[str, str, str]]:
    import mutagen

    try:
        parsed = mutagen.File(io.BytesIO(raw))
    except Exception:  # a tag block mutagen cannot parse says nothing about provenance
        return []
    tags = getattr(parsed, "tags", None)
    if not tags:
        return []
    found: list[tuple[str, str, str]] = []
    source = "Vorbis comment" if type(tags).__name__ == "VCFLACDict" else "ID3"
    if source == "ID3":
        for frame in tags.values():
            texts = [str(t) for t in getattr(frame, "text", [])]
            label = frame.FrameID + (f":{frame.desc}" if getattr(frame, "desc", "") else "")
            for text in texts or [str(frame)]:
                if text.strip():
                    found.append((source, label, text.strip()))
    else:
        for key, value in tags:
            if str(value).strip():
                found.append((source, key.upper(), str(value).strip()))
    return found


def file_format(raw: bytes) -> str:
    """What the file's header says it holds, for the curator: "WAV, 24-bit PCM
    (WAVE_FORMAT_EXTENSIBLE)", "FLAC", "AIFF", or "" when the header says nothing readable.
    A WAV's fmt chunk is read by the reader upload validation uses, so the two agree."""
    container = sniff_container(raw)
    if container == "WAV":
        try:
            wave = wave_format(raw)
        except ValueError:
            return "WAV"
        return f"WAV, {wave.describe()}" if wave is not None else "WAV"
    return container if container in ("FLAC", "AIFF") else ""


def read_tags(raw: bytes) -> list[tuple[str, str, str]]:
    """(source, tag, value) for every text tag in a WAV, AIFF or FLAC file."""
    tags: list[tuple[str, str, str]] = []
    if raw[:4] == b"RIFF" and raw[8:12] == b"WAVE":
        tags += _riff_info(raw)
    elif raw[:4] == b"FORM":
        tags += _aiff_text(raw)
    tags += _mutagen_tags(raw)
    return tags
