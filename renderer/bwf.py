"""Broadcast WAV: the `bext` chunk (EBU Tech 3285 v2) and an `iXML` chunk with the credits.

A delivered WAV carries, between its `fmt ` and `data` chunks:

* ``bext``: Description, Originator ("Stemvault"), OriginatorReference (the render id),
  OriginationDate and OriginationTime (UTC), TimeReference 0, Version 2, a zero UMID, the five
  loudness figures of EBU R 128 as signed 16-bit integers of value x 100, 180 reserved zero
  bytes, then the CodingHistory (EBU R 98 lines).
* ``iXML`` (iXML specification 2.10): the project, the channel list, and a ``STEMVAULT``
  section with the render id and every stem's credits (artists, their shares, the licence
  version) taken from the signed manifest, so the two can never disagree.

The chunks sit before ``data``, where broadcast tools look first; the manifest and its
signature stay the file's last two chunks (`renderer.embedding`), and since the manifest signs
its own bytes and hashes the decoded PCM, adding these chunks before or after embedding it
leaves it verifying. Pure: no clock is read here, the caller passes the origination time.
"""

from __future__ import annotations

import math
import re
import struct
import unicodedata
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from renderer.dsp.chunks import riff_chunk, riff_chunks
from renderer.loudness import LoudnessReport
from renderer.presets import LOUDNESS_PRESETS

BEXT_ID = b"bext"
IXML_ID = b"iXML"
BEXT_VERSION = 2
ORIGINATOR = "Stemvault"
IXML_VERSION = "2.10"
# What a figure that could not be measured (silence, a render shorter than the window) is
# written as: the int16 maximum, 327.67, far outside any real loudness, so no reader takes it
# for one.
UNSET_LOUDNESS = 0x7FFF

# Tech 3285 v2 section 2.3: Description char[256], Originator char[32],
# OriginatorReference char[32], OriginationDate char[10] "yyyy-mm-dd", OriginationTime char[8]
# "hh:mm:ss", TimeReferenceLow/High (one little-endian uint64 of samples since midnight),
# Version uint16, UMID byte[64] (SMPTE 330M), LoudnessValue, LoudnessRange, MaxTruePeakLevel,
# MaxMomentaryLoudness, MaxShortTermLoudness (int16 each, value x 100), Reserved byte[180];
# CodingHistory follows, to the end of the chunk. Text is ASCII, NUL-padded.
_BEXT_FIXED = struct.Struct("<256s32s32s10s8sQH64s5h180s")
assert _BEXT_FIXED.size == 602


def ascii_text(text: str) -> str:
    """The nearest ASCII spelling (Tech 3285 text is ISO 646): accents dropped, the rest '?'."""
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(c for c in decomposed if not unicodedata.combining(c))
    return kept.encode("ascii", "replace").decode("ascii")


def _field(text: str, size: int, name: str) -> bytes:
    raw = ascii_text(text).encode("ascii")
    if len(raw) > size:
        raise ValueError(f"bext {name} holds {size} characters, not {len(raw)}: {text!r}")
    return raw  # struct pads with NULs


def originator_reference(render_id: str) -> str:
    """The render id as it fits OriginatorReference's 32 characters: a UUID in its 32-digit
    hex form (the same id without its hyphens), anything else as it is."""
    if len(render_id) > 32:
        try:
            return uuid.UUID(render_id).hex
        except ValueError:
            raise ValueError(
                f"the render id {render_id!r} is longer than bext's 32-character "
                "OriginatorReference and is not a UUID"
            ) from None
    return render_id


def centi(value: float) -> int:
    """A loudness figure in bext's unit: int16 of value x 100 (-23.456 LUFS -> -2346); not
    measured (-inf, NaN) -> 0x7FFF."""
    if not math.isfinite(value):
        return UNSET_LOUDNESS
    return max(-0x8000, min(UNSET_LOUDNESS - 1, round(value * 100.0)))


def coding_history(manifest: Mapping[str, Any]) -> str:
    """EBU R 98 coding history: one CR LF-terminated line per step the audio went through."""
    audio = manifest["audio"]
    mode = {1: "mono", 2: "stereo"}.get(int(audio["channels"]), "multitrack")
    plan = manifest.get("plan", {})
    target = f"{plan.get('loudness_lufs', 'n/a')} LUFS and {plan.get('true_peak_dbtp')} dBTP"
    preset = plan.get("loudness_preset")
    stems = len(manifest.get("stems", []))
    # R 98 separates the line's fields with commas, so the free text (T=) uses none.
    text = (
        f"Stemvault engine {manifest['engine_version']} mix of {stems} stems"
        f" mastered to {target}{f' ({preset})' if preset else ''}"
    )
    return (
        f"A=PCM,F={int(audio['sample_rate'])},W={int(audio['bits'])},M={mode},"
        f"T={ascii_text(text)}\r\n"
    )


def _description(manifest: Mapping[str, Any], originated: datetime) -> str:
    credits = sorted(
        {str(c["artist"]) for stem in manifest.get("stems", []) for c in stem.get("credits", [])}
    )
    plan = manifest.get("plan", {})
    preset = LOUDNESS_PRESETS.get(str(plan.get("loudness_preset")))
    target = preset.describe() if preset else f"{plan.get('loudness_lufs')} LUFS"
    text = (
        f"Stemvault soundtrack {manifest['render_id']}, "
        f"{float(manifest['audio']['duration_s']):g} s, {target}, rendered "
        f"{originated:%Y-%m-%d %H:%M:%S} UTC. "
        + (f"Stems by {', '.join(credits)}; " if credits else "")
        + "credits in the iXML chunk, signed manifest in the svmf chunk."
    )
    text = ascii_text(text)
    return text if len(text) <= 256 else text[:253] + "..."


def bext_body(
    manifest: Mapping[str, Any],
    loudness: LoudnessReport,
    *,
    originated: datetime,
    description: str | None = None,
) -> bytes:
    """The bext chunk's body (without its 8-byte header) for a render described by
    `manifest`, whose output measured `loudness`, originated at `originated` (UTC)."""
    when = originated.astimezone(UTC) if originated.tzinfo else originated
    fixed = _BEXT_FIXED.pack(
        _field(description or _description(manifest, when), 256, "Description"),
        _field(ORIGINATOR, 32, "Originator"),
        _field(originator_reference(str(manifest["render_id"])), 32, "OriginatorReference"),
        _field(f"{when:%Y-%m-%d}", 10, "OriginationDate"),
        _field(f"{when:%H:%M:%S}", 8, "OriginationTime"),
        0,  # TimeReference: the render starts at its own zero, not at a time of day
        BEXT_VERSION,
        bytes(64),  # UMID: none is assigned (the render id above identifies the file)
        centi(loudness.integrated_lufs),  # LoudnessValue, LUFS x 100
        centi(loudness.loudness_range_lu),  # LoudnessRange, LU x 100
        centi(loudness.true_peak_dbtp),  # MaxTruePeakLevel, dBTP x 100
        centi(loudness.max_momentary_lufs),  # MaxMomentaryLoudness, LUFS x 100
        centi(loudness.max_short_term_lufs),  # MaxShortTermLoudness, LUFS x 100
        bytes(180),  # Reserved: zeros
    )
    return fixed + coding_history(manifest).encode("ascii")


def _text(parent: ET.Element, tag: str, value: Any) -> ET.Element:
    element = ET.SubElement(parent, tag)
    element.text = "" if value is None else str(value)
    return element


def _share_bps(credit: Mapping[str, Any]) -> int:
    if credit.get("split_bps") is not None:
        return int(credit["split_bps"])
    return round(float(credit["split_percent"]) * 100)


def ixml_body(manifest: Mapping[str, Any]) -> bytes:
    """The iXML document: project, tracks, and the credits of every stem in the manifest."""
    root = ET.Element("BWFXML")
    _text(root, "IXML_VERSION", IXML_VERSION)
    _text(root, "PROJECT", "Stemvault soundtrack")
    _text(root, "NOTE", f"Render {manifest['render_id']}; credits below, from its manifest.")
    file_set = ET.SubElement(root, "FILE_SET")
    _text(file_set, "TOTAL_FILES", 1)
    _text(file_set, "FAMILY_UID", manifest["render_id"])
    _text(file_set, "FILE_SET_INDEX", "A")
    channels = int(manifest["audio"]["channels"])
    tracks = ET.SubElement(root, "TRACK_LIST")
    _text(tracks, "TRACK_COUNT", channels)
    names = ["L", "R"] if channels == 2 else ["M"] if channels == 1 else []
    for index in range(channels):
        track = ET.SubElement(tracks, "TRACK")
        _text(track, "CHANNEL_INDEX", index + 1)
        _text(track, "INTERLEAVE_INDEX", index + 1)
        name = names[index] if index < len(names) else f"Ch{index + 1}"
        _text(track, "NAME", f"Mix {name}")
        _text(track, "FUNCTION", name)
    # iXML lets an application keep its own section under the root (as STEINBERG does).
    ours = ET.SubElement(root, "STEMVAULT")
    _text(ours, "RENDER_ID", manifest["render_id"])
    _text(ours, "MANIFEST_SCHEMA", manifest.get("schema"))
    _text(ours, "AUDIO_SHA256", manifest.get("audio_sha256"))
    _text(ours, "LOUDNESS_PRESET", manifest.get("plan", {}).get("loudness_preset") or "")
    credits = ET.SubElement(ours, "CREDITS")
    for stem in manifest.get("stems", []):
        entry = ET.SubElement(credits, "STEM")
        _text(entry, "ID", stem["id"])
        for key, tag in (("title", "TITLE"), ("role", "ROLE")):
            if stem.get(key):
                _text(entry, tag, stem[key])
        for key, tag in (
            ("content_sha256", "CONTENT_SHA256"),
            ("license_version", "LICENCE_VERSION"),
        ):
            if stem.get(key) is not None:
                _text(entry, tag, stem[key])
        for credit in stem.get("credits", []):
            artist = ET.SubElement(entry, "ARTIST")
            _text(artist, "NAME", credit["artist"])
            if credit.get("artist_id") is not None:
                _text(artist, "ARTIST_ID", credit["artist_id"])
            bps = _share_bps(credit)
            # Basis points are exact; the percentage is for people (two decimals, 50.00).
            _text(artist, "SHARE_BPS", bps)
            _text(artist, "SHARE_PERCENT", f"{bps / 100:.2f}")
    ET.indent(root)
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    # ElementTree writes the declaration with single quotes; iXML readers expect the usual form.
    return re.sub(rb"^<\?xml[^>]*\?>", b'<?xml version="1.0" encoding="UTF-8"?>', body)


def broadcast_wav(
    data: bytes,
    manifest: Mapping[str, Any],
    loudness: LoudnessReport,
    *,
    originated: datetime,
    description: str | None = None,
) -> bytes:
    """`data` (a RIFF/WAVE file) with a bext and an iXML chunk just before its data chunk,
    replacing any it had; every other chunk keeps its place and bytes."""
    chunks = list(riff_chunks(data))
    if not any(c.id == b"data" for c in chunks):
        raise ValueError("the WAV has no data chunk")
    ours = riff_chunk(
        BEXT_ID, bext_body(manifest, loudness, originated=originated, description=description)
    ) + riff_chunk(IXML_ID, ixml_body(manifest))
    parts = [data[:12]]
    for chunk in chunks:
        if chunk.id in (BEXT_ID, IXML_ID):
            continue
        if chunk.id == b"data":
            parts.append(ours)
        parts.append(data[chunk.offset : chunk.next])
    out = bytearray(b"".join(parts))
    if len(out) - 8 > 0xFFFFFFFF:
        raise ValueError("a WAV file holds at most 4 GiB; render FLAC instead")
    struct.pack_into("<I", out, 4, len(out) - 8)
    return bytes(out)
