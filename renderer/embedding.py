"""Carrying a manifest's bytes and its detached signature inside a WAV or FLAC file.

Layout (schema 2; `renderer.manifest` says what the bytes mean):

* WAV: two RIFF chunks at the very end of the file, in this order: ``svmf`` (StemVault
  ManiFest) holding the manifest's exact bytes and ``svsg`` holding the detached JWS (ASCII).
  The RIFF size field is updated and an odd-sized body gets the zero pad byte RIFF requires.
  Decoders skip chunks they do not know.
* FLAC: two Vorbis comments, ``STEMVAULT_MANIFEST=<manifest bytes>`` then
  ``STEMVAULT_MANIFEST_JWS=<jws>``, the last two of the file's one VORBIS_COMMENT block, which
  is the last metadata block.

Schema 1 (legacy) files have only the manifest: an ``svmf`` chunk at the end of a WAV, or a
``STEMVAULT_MANIFEST`` comment, the last of a VORBIS_COMMENT block placed after STREAMINFO.

Content Credentials (C2PA, `renderer.credentials`) are written after the manifest, by c2pa-rs,
and are the one addition allowed: in a WAV exactly one ``C2PA`` chunk, the file's last, right
after the manifest's chunks; in a FLAC exactly one ID3v2 tag before ``fLaC`` holding only one
``GEOB`` frame of MIME type application/c2pa (and zero padding). Re-embedding a manifest drops
them, since it would break their hash anyway. Their own signature covers every other byte.

Reading is strict, because bytes outside the signed payload must not change what a reader
sees: a second manifest chunk or comment (two readers could pick different ones), a chunk or
metadata block after the manifest, bytes past the RIFF size or past the last comment, a
non-zero pad byte, a chunk running past the end of the file, or a differently spelt comment key
all raise `EmbeddingError` with the reason. The audio before the manifest is covered by the
manifest's decoded-PCM hash instead.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from renderer.dsp.chunks import Chunk, riff_chunk, riff_chunks

WAV_CHUNK_ID = b"svmf"
WAV_SIGNATURE_CHUNK_ID = b"svsg"
FLAC_COMMENT_KEY = "STEMVAULT_MANIFEST"
FLAC_SIGNATURE_COMMENT_KEY = "STEMVAULT_MANIFEST_JWS"
C2PA_CHUNK_ID = b"C2PA"  # where c2pa-rs puts a WAV's Content Credentials
C2PA_GEOB_MIME = b"application/c2pa"

_STREAMINFO, _VORBIS_COMMENT = 0, 4


class EmbeddingError(ValueError):
    """The file's manifest is laid out in a way this format does not allow; says which."""


@dataclass(frozen=True)
class Embedded:
    payload: bytes  # the manifest exactly as embedded
    jws: str | None  # the detached JWS; None in a schema-1 file


# --- WAV -----------------------------------------------------------------------------------


def embed_wav(data: bytes, payload: bytes, jws: str | None) -> bytes:
    ours = (WAV_CHUNK_ID, WAV_SIGNATURE_CHUNK_ID, C2PA_CHUNK_ID)
    # Re-embedding replaces the old manifest and signature, and drops Content Credentials.
    parts = [data[:12], *(data[c.offset : c.next] for c in riff_chunks(data) if c.id not in ours)]
    parts.append(riff_chunk(WAV_CHUNK_ID, payload))
    if jws is not None:
        parts.append(riff_chunk(WAV_SIGNATURE_CHUNK_ID, jws.encode("ascii")))
    out = bytearray(b"".join(parts))
    struct.pack_into("<I", out, 4, len(out) - 8)
    return bytes(out)


def _wav_chunks(data: bytes) -> list[Chunk]:
    (riff_size,) = struct.unpack_from("<I", data, 4)
    if riff_size != len(data) - 8:
        raise EmbeddingError(
            f"the RIFF header says {riff_size + 8} bytes but the file has {len(data)}: "
            "bytes were added or cut"
        )
    chunks = list(riff_chunks(data))
    for chunk in chunks:
        if chunk.next > len(data):
            raise EmbeddingError(f"RIFF chunk {chunk.id!r} runs past the end of the file")
        if chunk.size & 1 and data[chunk.end] != 0:
            raise EmbeddingError(f"RIFF chunk {chunk.id!r} has a non-zero pad byte")
    if (chunks[-1].next if chunks else 12) != len(data):
        raise EmbeddingError("the file has bytes after its last RIFF chunk")
    return chunks


def extract_wav(data: bytes) -> Embedded | None:
    chunks = _wav_chunks(data)
    ids = [c.id for c in chunks]
    if C2PA_CHUNK_ID in ids:
        # Content Credentials: one chunk, the very last, directly after the manifest's chunks
        # (checked below once it is set aside).
        if ids.count(C2PA_CHUNK_ID) > 1 or ids[-1] != C2PA_CHUNK_ID:
            raise EmbeddingError(
                "the file's C2PA chunk must be one chunk, the last: nothing may follow it"
            )
        chunks, ids = chunks[:-1], ids[:-1]
    for ours in (WAV_CHUNK_ID, WAV_SIGNATURE_CHUNK_ID):
        if ids.count(ours) > 1:
            raise EmbeddingError(f"the file has {ids.count(ours)} {ours.decode()} chunks, not one")
    if WAV_CHUNK_ID not in ids:
        if WAV_SIGNATURE_CHUNK_ID in ids:
            raise EmbeddingError("the file has a signature chunk but no manifest chunk")
        return None
    at = ids.index(WAV_CHUNK_ID)
    manifest = chunks[at]
    payload = data[manifest.body : manifest.end]
    signed = WAV_SIGNATURE_CHUNK_ID in ids
    last = at + 1 if signed else at
    if signed and ids[at + 1] != WAV_SIGNATURE_CHUNK_ID:
        raise EmbeddingError("the signature chunk does not directly follow the manifest chunk")
    if last != len(chunks) - 1:
        extra = chunks[last + 1].id
        raise EmbeddingError(f"a RIFF chunk {extra!r} follows the manifest: nothing may follow it")
    if not signed:
        return Embedded(payload, None)
    signature = chunks[last]
    return Embedded(payload, _ascii(data[signature.body : signature.end]))


def _ascii(raw: bytes) -> str:
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError as exc:
        raise EmbeddingError("the embedded signature is not ASCII text") from exc


# --- FLAC ----------------------------------------------------------------------------------


def _syncsafe(raw: bytes) -> int:
    if any(b & 0x80 for b in raw):
        raise EmbeddingError("the ID3v2 tag's size is not a syncsafe integer")
    return (raw[0] << 21) | (raw[1] << 14) | (raw[2] << 7) | raw[3]


def _starts_stream(data: bytes, stream: str) -> bool:
    if stream == "mp3":  # an MPEG audio frame's 11-bit sync
        return len(data) >= 2 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0
    return data[:4] == b"fLaC"


def c2pa_id3_length(data: bytes, stream: str = "flac") -> int:
    """How many bytes of Content Credentials (an ID3v2 tag) precede a FLAC's ``fLaC`` (or, with
    `stream` "mp3", an MP3's first MPEG frame): 0 when the file does not start with an ID3v2
    tag followed by such a stream; EmbeddingError when it does and the tag holds anything but
    exactly one application/c2pa GEOB frame."""
    if data[:3] != b"ID3" or len(data) < 10 or any(b & 0x80 for b in data[6:10]):
        return 0
    end = 10 + _syncsafe(data[6:10])
    if not _starts_stream(data[end : end + 4], stream):
        return 0  # another format's tag: not a file this reader is asked about
    where = "before the MP3 stream" if stream == "mp3" else "before the FLAC stream"
    if data[3] not in (3, 4) or data[5]:
        # No unsynchronisation, extended header, experimental flag or footer: c2pa-rs writes
        # none, and each would be a way to hide bytes from this reader.
        raise EmbeddingError(f"the ID3v2 tag {where} is not a plain v2.3/v2.4 tag")
    frames = []
    offset = 10
    while offset + 10 <= end and data[offset] != 0:
        raw_size = data[offset + 4 : offset + 8]
        size = _syncsafe(raw_size) if data[3] == 4 else int.from_bytes(raw_size, "big")
        frames.append((data[offset : offset + 4], data[offset + 10 : offset + 10 + size]))
        offset += 10 + size
    if offset > end or any(data[offset:end]):
        raise EmbeddingError(f"the ID3v2 tag {where} is malformed")
    if len(frames) != 1 or frames[0][0] != b"GEOB":
        raise EmbeddingError(f"the ID3v2 tag {where} may hold only the Content Credentials' GEOB")
    if not frames[0][1][1:].startswith(C2PA_GEOB_MIME + b"\x00"):
        raise EmbeddingError("the ID3v2 tag's GEOB frame is not of type application/c2pa")
    return end


def _flac_blocks(data: bytes) -> tuple[list[tuple[int, bytes]], int]:
    """Metadata blocks as (type, body) and the offset where the audio frames begin."""
    if data[:4] != b"fLaC":
        raise ValueError("not a FLAC file")
    blocks = []
    offset = 4
    while True:
        if offset + 4 > len(data):
            raise EmbeddingError("truncated FLAC metadata")
        header = data[offset]
        length = int.from_bytes(data[offset + 1 : offset + 4], "big")
        if offset + 4 + length > len(data):
            raise EmbeddingError("a FLAC metadata block runs past the end of the file")
        blocks.append((header & 0x7F, data[offset + 4 : offset + 4 + length]))
        offset += 4 + length
        if header & 0x80:
            return blocks, offset


def _parse_comments(body: bytes) -> tuple[bytes, list[bytes]]:
    """Vendor string and comments of a VORBIS_COMMENT body, which they must fill exactly."""
    try:
        (vendor_len,) = struct.unpack_from("<I", body, 0)
        vendor = body[4 : 4 + vendor_len]
        offset = 4 + vendor_len
        (count,) = struct.unpack_from("<I", body, offset)
        offset += 4
        comments = []
        for _ in range(count):
            (length,) = struct.unpack_from("<I", body, offset)
            if offset + 4 + length > len(body):
                raise EmbeddingError("a Vorbis comment runs past the end of its block")
            comments.append(body[offset + 4 : offset + 4 + length])
            offset += 4 + length
    except struct.error as exc:
        raise EmbeddingError("the VORBIS_COMMENT block is truncated") from exc
    if offset != len(body):
        raise EmbeddingError("the VORBIS_COMMENT block has bytes after its last comment")
    return vendor, comments


def _build_comments(vendor: bytes, comments: list[bytes]) -> bytes:
    parts = [struct.pack("<I", len(vendor)), vendor, struct.pack("<I", len(comments))]
    for comment in comments:
        parts += [struct.pack("<I", len(comment)), comment]
    return b"".join(parts)


def _comment_key(comment: bytes) -> str | None:
    """Which of our keys a comment carries (Vorbis field names are case-insensitive)."""
    key = comment.split(b"=", 1)[0].upper()
    for ours in (FLAC_COMMENT_KEY, FLAC_SIGNATURE_COMMENT_KEY):
        if key == ours.encode():
            return ours
    return None


def embed_flac(data: bytes, payload: bytes, jws: str | None) -> bytes:
    data = data[c2pa_id3_length(data) :]  # Content Credentials would no longer match
    blocks, audio_start = _flac_blocks(data)
    vendor: bytes = b"stemvault"
    comments: list[bytes] = []
    kept: list[tuple[int, bytes]] = []
    for block_type, body in blocks:
        if block_type == _VORBIS_COMMENT:
            vendor, comments = _parse_comments(body)
        else:
            kept.append((block_type, body))
    comments = [c for c in comments if _comment_key(c) is None]
    comments.append(FLAC_COMMENT_KEY.encode() + b"=" + payload)
    if jws is not None:
        comments.append(FLAC_SIGNATURE_COMMENT_KEY.encode() + b"=" + jws.encode("ascii"))
    body = _build_comments(vendor, comments)
    if len(body) >= 1 << 24:
        raise ValueError("manifest too large for a FLAC metadata block (16 MiB)")
    if jws is not None:
        kept.append((_VORBIS_COMMENT, body))  # last: no metadata block may follow the manifest
    else:
        kept.insert(1 if kept and kept[0][0] == _STREAMINFO else 0, (_VORBIS_COMMENT, body))
    out = [b"fLaC"]
    for index, (block_type, block_body) in enumerate(kept):
        last = 0x80 if index == len(kept) - 1 else 0
        out.append(bytes([last | block_type]) + len(block_body).to_bytes(3, "big") + block_body)
    out.append(data[audio_start:])
    return b"".join(out)


def extract_flac(data: bytes) -> Embedded | None:
    blocks, _ = _flac_blocks(data)
    holders = [i for i, (block_type, _) in enumerate(blocks) if block_type == _VORBIS_COMMENT]
    if not holders:
        return None
    if len(holders) > 1:
        raise EmbeddingError("the file has more than one VORBIS_COMMENT block")
    comments = _parse_comments(blocks[holders[0]][1])[1]
    found = [(i, _comment_key(c), c) for i, c in enumerate(comments) if _comment_key(c)]
    keys = [key for _, key, _ in found]
    for ours in (FLAC_COMMENT_KEY, FLAC_SIGNATURE_COMMENT_KEY):
        if keys.count(ours) > 1:
            raise EmbeddingError(f"the file has {keys.count(ours)} {ours} comments, not one")
    for _, key, comment in found:
        if not comment.startswith(f"{key}=".encode()):
            raise EmbeddingError(f"the {key} comment's name is spelt differently")
    if FLAC_COMMENT_KEY not in keys:
        if keys:
            raise EmbeddingError("the file has a signature comment but no manifest comment")
        return None
    by_key = {key: (i, c.split(b"=", 1)[1]) for i, key, c in found if key is not None}
    at, payload = by_key[FLAC_COMMENT_KEY]
    if FLAC_SIGNATURE_COMMENT_KEY not in by_key:
        if at != len(comments) - 1:
            raise EmbeddingError("a Vorbis comment follows the manifest: nothing may follow it")
        return Embedded(payload, None)
    signature_at, jws = by_key[FLAC_SIGNATURE_COMMENT_KEY]
    if (at, signature_at) != (len(comments) - 2, len(comments) - 1):
        raise EmbeddingError(
            "the manifest and its signature must be the last two Vorbis comments, in that order"
        )
    if holders[0] != len(blocks) - 1:
        raise EmbeddingError("a FLAC metadata block follows the manifest: nothing may follow it")
    return Embedded(payload, _ascii(jws))


# --- either --------------------------------------------------------------------------------


def embed(audio_bytes: bytes, fmt: str, payload: bytes, jws: str | None) -> bytes:
    """The file with `payload` (and its detached JWS) embedded, replacing any earlier ones."""
    if fmt == "wav":
        return embed_wav(audio_bytes, payload, jws)
    if fmt == "flac":
        return embed_flac(audio_bytes, payload, jws)
    raise ValueError(f"cannot embed a manifest in {fmt!r} files")


def extract(file_bytes: bytes) -> Embedded | None:
    """The embedded manifest bytes and JWS; None if the file is not a WAV or FLAC file or has no
    manifest; EmbeddingError if it has one laid out against the rules above."""
    try:
        if file_bytes[:4] == b"RIFF":
            return extract_wav(file_bytes)
        if file_bytes[:4] == b"fLaC":
            return extract_flac(file_bytes)
        skip = c2pa_id3_length(file_bytes)
        if skip:
            return extract_flac(file_bytes[skip:])
    except EmbeddingError:
        raise
    except (ValueError, struct.error) as exc:
        raise EmbeddingError(f"the file's container cannot be read: {exc}") from exc
    return None
