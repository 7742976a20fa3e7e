"""Gatekeeping for uploads: only intact, lossless, plausible sounds reach a curator.

The container is identified from the bytes (magic numbers, chunk headers and what libsndfile
makes of them), never from the filename. Chunk sizes are checked against the real byte length
ourselves, because libsndfile quietly decodes whatever is there when a header over-promises.

No upload is believed with memory. The header's length, channels, rate and codec are judged
against the kind's limits before a sample is decoded (a 400 KB FLAC may declare hours), and the
decode itself runs block by block under a budget of the declared length and the kind's limit, so
a file that holds more than it says is stopped one block past the budget. Validation keeps only
running figures (frames, peak, non-finite count, the PCM hash), never the decoded samples.
"""

from __future__ import annotations

import io
import math
import struct
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import soundfile as sf

from renderer.audio import (
    BLOCK_FRAMES,
    Audio,
    AudioStream,
    DecodeBudgetExceeded,
    PcmHasher,
    StreamHeader,
    frame_budget,
    id3v2_length,
    read_all,
)
from renderer.dsp.chunks import WaveFormat, iter_chunks, read_wave_format

DURATION_LIMITS: dict[str, tuple[float, float]] = {
    "one-shot": (0.05, 10.0),
    "loop": (0.5, 120.0),
    "stem": (1.0, 900.0),
    "field-recording": (1.0, 1800.0),
}
MIN_SAMPLE_RATE = 44100
MAX_SAMPLE_RATE = 192000
MAX_CHANNELS = 2
SILENCE_PEAK_DBFS = -90.0

_LOSSLESS_SUBTYPES = {"PCM_S8", "PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"}
_LOSSY_HINT = (
    "Lossy encoding throws away detail that the vault's provenance and quality checks rely on. "
    "Please send the original as WAV, FLAC or AIFF."
)


class AudioRejected(Exception):
    """An upload the vault will not take; `message` tells the artist what to fix."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def validate_filename(name: str) -> str:
    """Return `name` stripped of surrounding whitespace, or raise AudioRejected('bad_filename')."""
    cleaned = name.strip() if isinstance(name, str) else ""
    if not cleaned:
        raise AudioRejected("bad_filename", "The file needs a name.")
    if "/" in cleaned or "\\" in cleaned:
        raise AudioRejected(
            "bad_filename", "The file name must not contain '/' or '\\'; rename the file."
        )
    if "\x00" in cleaned:
        raise AudioRejected("bad_filename", "The file name contains a NUL byte; rename the file.")
    if cleaned in {".", ".."}:
        raise AudioRejected("bad_filename", "'.' and '..' are not file names; rename the file.")
    return cleaned


def _read_bytes(data: bytes | BinaryIO, max_bytes: int) -> bytes:
    if isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
    else:
        raw = data.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise AudioRejected(
            "too_large",
            f"The file is larger than the {max_bytes / 1_000_000:.1f} MB limit; "
            "send a shorter excerpt or a FLAC (lossless, about half the size of WAV).",
        )
    if not raw:
        raise AudioRejected("empty", "The file is empty (0 bytes); the upload may have failed.")
    return raw


def sniff_container(raw: bytes) -> str:
    """'WAV', 'FLAC', 'AIFF', 'MP3', 'OGG' or '' from the leading bytes."""
    if raw[:4] == b"RIFF" and raw[8:12] == b"WAVE":
        return "WAV"
    if raw[:4] == b"fLaC" or raw[id3v2_length(raw) :][:4] == b"fLaC":
        # A FLAC may start with an ID3v2 tag (Content Credentials put theirs there).
        return "FLAC"
    if raw[:4] == b"FORM" and raw[8:12] in (b"AIFF", b"AIFC"):
        return "AIFF"
    if raw[:3] == b"ID3" or (len(raw) > 1 and raw[0] == 0xFF and raw[1] & 0xE0 == 0xE0):
        return "MP3"
    if raw[:4] == b"OggS":
        return "OGG"
    return ""


def _overrun(code_cut: str, code_lie: str, container_complete: bool) -> str:
    # A header that over-promises in a file whose outer size matches its length is lying; one
    # whose outer size also exceeds the length is a file cut short.
    return code_lie if container_complete else code_cut


def _check_wav(raw: bytes) -> WaveFormat:
    """The RIFF structure checked against the bytes; returns what the fmt chunk says (read by
    `renderer.dsp.chunks.read_wave_format`, the one reader of it: plain, float and
    WAVE_FORMAT_EXTENSIBLE headers are judged by their encoding, not by the header's kind)."""
    length = len(raw)
    if length < 12:
        raise AudioRejected("truncated", "The WAV file stops inside its header; export it again.")
    riff_size = struct.unpack_from("<I", raw, 4)[0]
    complete = riff_size + 8 <= length
    if riff_size + 8 < length - 1:
        raise AudioRejected(
            "header_mismatch",
            f"The WAV header says the file is {riff_size + 8} bytes but it is {length}; "
            "the file was damaged or edited. Export it again.",
        )
    end = min(length, riff_size + 8)
    wave: WaveFormat | None = None
    for chunk in iter_chunks(raw, 12, end):
        chunk_id, size, body = chunk.id, chunk.size, chunk.body
        if chunk_id == b"fmt " and wave is None:
            try:
                wave = read_wave_format(raw, chunk)
            except ValueError as exc:
                if body + size <= length:  # a chunk cut by the file's end is reported below
                    raise AudioRejected("not_audio", f"{exc}; export the file again.") from None
            if (
                wave is not None and wave.lossy_mpeg
            ):  # MPEG layer I/II/III inside RIFF, with either header
                raise AudioRejected(
                    "lossy_format", "This WAV holds MP3-encoded audio. " + _LOSSY_HINT
                )
        if body + size > length:
            if chunk_id == b"data":
                promised = size
                held = length - body
                raise AudioRejected(
                    _overrun("truncated", "header_mismatch", complete),
                    f"The WAV data chunk promises {promised} bytes of audio but the file holds "
                    f"only {held}. "
                    + (
                        "The header's sizes contradict each other; export the file again."
                        if complete
                        else "The file was cut short (an interrupted copy or download?); "
                        "upload the complete file."
                    ),
                )
            raise AudioRejected(
                _overrun("truncated", "header_mismatch", complete),
                f"The WAV chunk {chunk_id.decode('latin-1')!r} runs past the end of the file; "
                "export it again.",
            )
        if body + size > end:
            raise AudioRejected(
                "header_mismatch",
                f"The WAV chunk {chunk_id.decode('latin-1')!r} overruns the size the RIFF header "
                "declares; export the file again.",
            )
        if chunk_id == b"data":
            if wave is None:
                raise AudioRejected("not_audio", "The WAV has audio data but no format chunk.")
            return wave
    raise AudioRejected(
        "truncated" if not complete else "not_audio",
        "The WAV file has no audio data chunk; export it again.",
    )


def _check_aiff(raw: bytes) -> None:
    length = len(raw)
    if length < 12:
        raise AudioRejected("truncated", "The AIFF file stops inside its header; export it again.")
    form_size = struct.unpack_from(">I", raw, 4)[0]
    complete = form_size + 8 <= length
    if form_size + 8 < length - 1:
        raise AudioRejected(
            "header_mismatch",
            f"The AIFF header says the file is {form_size + 8} bytes but it is {length}; "
            "export it again.",
        )
    frames = channels = bits = None
    sound_bytes: int | None = None
    for chunk in iter_chunks(raw, byteorder="big"):
        chunk_id, size, body = chunk.id, chunk.size, chunk.body
        if chunk_id == b"COMM" and body + 8 <= length:
            channels, frames, bits = struct.unpack_from(">hIh", raw, body)
        if chunk_id == b"SSND":
            sound_bytes = min(size, length - body) - 8  # minus offset and blockSize fields
            if body + size > length:
                raise AudioRejected(
                    _overrun("truncated", "header_mismatch", complete),
                    f"The AIFF sound chunk promises {size} bytes but the file holds "
                    f"{length - body}; "
                    + (
                        "the header's sizes contradict each other."
                        if complete
                        else "the file was cut short. Upload the complete file."
                    ),
                )
        elif body + size > length:
            raise AudioRejected(
                _overrun("truncated", "header_mismatch", complete),
                f"The AIFF chunk {chunk_id.decode('latin-1')!r} runs past the end of the file.",
            )
    if frames is None or channels is None or bits is None or sound_bytes is None:
        raise AudioRejected("not_audio", "The AIFF file lacks its COMM or SSND chunk.")
    needed = frames * channels * ((bits + 7) // 8)
    if needed > sound_bytes and raw[8:12] == b"AIFF":
        raise AudioRejected(
            _overrun("truncated", "header_mismatch", complete),
            f"The AIFF header promises {frames} frames ({needed} bytes) but the sound data "
            f"holds {max(sound_bytes, 0)} bytes; export the file again.",
        )


def _reject_lossy(kind: str) -> AudioRejected:
    return AudioRejected("lossy_format", f"This is {kind}. " + _LOSSY_HINT)


def validate_upload(
    data: bytes | BinaryIO, *, filename: str, kind: str, max_bytes: int
) -> CheckedUpload:
    """Check an upload, decoding it block by block; raise AudioRejected(code, message) unless
    the vault can take it. The decoded samples are not kept: the result holds what the header
    said and what the decode measured (frames, PCM hash).

    Codes: bad_filename, unknown_kind, too_large, empty, not_audio, lossy_format,
    unsupported_container, truncated, header_mismatch, non_finite, sample_rate,
    too_many_channels, duration, silent.
    """
    validate_filename(filename)
    if kind not in DURATION_LIMITS:
        raise AudioRejected(
            "unknown_kind", f"Unknown kind {kind!r}; choose one of {', '.join(DURATION_LIMITS)}."
        )
    raw = _read_bytes(data, max_bytes)
    container = sniff_container(raw)
    if container == "MP3":
        raise _reject_lossy("an MP3")
    if container == "OGG":
        if b"OpusHead" in raw[:512]:
            raise _reject_lossy("Ogg Opus")
        if b"\x01vorbis" in raw[:512]:
            raise _reject_lossy("Ogg Vorbis")
        raise AudioRejected(
            "unsupported_container", "Ogg files are not accepted; send WAV, FLAC or AIFF."
        )
    if not container:
        try:
            info = sf.info(io.BytesIO(raw))
        except (sf.LibsndfileError, RuntimeError, TypeError):
            raise AudioRejected(
                "not_audio",
                "This file is not audio we can read. Send an uncompressed WAV or AIFF, or a FLAC.",
            ) from None
        if info.format in {"MP3", "MPEG"} or info.subtype.startswith("MPEG"):
            raise _reject_lossy("MPEG audio") from None
        if info.format == "OGG":
            raise _reject_lossy("Ogg audio") from None
        raise AudioRejected(
            "unsupported_container",
            f"{info.format_info or info.format} files are not accepted; send WAV, FLAC or AIFF.",
        )
    wave = _check_wav(raw) if container == "WAV" else None
    if container == "AIFF":
        _check_aiff(raw)
    try:
        with AudioStream(raw) as stream:
            _check_header(stream.header, container, kind)
            upload = _decode_checked(stream, container, kind, wave)
    except (sf.LibsndfileError, RuntimeError) as error:
        raise AudioRejected(
            "not_audio",
            f"The {container} file could not be decoded ({error}); export it again.",
        ) from None
    _check_signal(upload, kind)
    return upload


def load_upload(data: bytes | BinaryIO, *, kind: str) -> Audio:
    """Decode an upload the vault holds (for analysis) within the limits validate_upload
    enforced: its header is judged again before a sample is decoded, and it may never decode to
    more than it declares or its kind allows. Raises AudioRejected like validate_upload."""
    if kind not in DURATION_LIMITS:
        raise AudioRejected("unknown_kind", f"Unknown kind {kind!r}.")
    container = "audio"
    try:
        with AudioStream(data) as stream:
            container = stream.header.format
            _check_header(stream.header, container, kind)
            return read_all(stream, max_frames=max_frames(kind, stream.header.sample_rate))
    except DecodeBudgetExceeded as exceeded:
        raise _overrun_error(exceeded, container, kind) from None
    except (sf.LibsndfileError, RuntimeError) as error:
        raise AudioRejected("not_audio", f"The file could not be decoded ({error}).") from None


@dataclass(frozen=True)
class CheckedUpload:
    """An upload that passed every check: its header and what its one decode measured.

    `format` is the container as identified from the bytes (WAV, FLAC, AIFF), whatever
    header variant it uses: libsndfile names a WAVE_FORMAT_EXTENSIBLE file "WAVEX", which is
    still a WAV to everyone downstream. `wave` is the WAV's fmt chunk (None for the others)."""

    format: str
    subtype: str
    sample_rate: int
    channels: int
    frames: int
    pcm_sha256: str
    peak: float
    non_finite: int
    wave: WaveFormat | None = None

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate else 0.0


def max_frames(kind: str, sample_rate: int) -> int:
    """The decoding budget of an upload of `kind`: the most frames its kind allows."""
    return frame_budget(DURATION_LIMITS[kind][1], sample_rate)


def _span(seconds: float) -> str:
    """12.00 s, 2 min, 4 h 10 min, 2 min 0.40 s: what a person reads at a glance."""
    if seconds < 60:
        return f"{seconds:.2f} s"
    hours, rest = divmod(seconds, 3600.0)
    minutes, secs = divmod(rest, 60.0)
    parts = [f"{int(hours)} h"] if hours else []
    if minutes:
        parts.append(f"{int(minutes)} min")
    if abs(secs - round(secs)) >= 0.005:
        parts.append(f"{secs:.2f} s")
    elif round(secs):
        parts.append(f"{round(secs)} s")
    return " ".join(parts)


def _too_long(kind: str, says: str) -> AudioRejected:
    low, high = DURATION_LIMITS[kind]
    return AudioRejected(
        "duration",
        f"The file {says} of audio; a {kind} may be at most {_span(high)} "
        f"(a {kind} must last {low:g} to {high:g} seconds). Trim it, or choose the kind it is.",
    )


def _check_header(header: StreamHeader, container: str, kind: str) -> None:
    """Everything the header can tell, judged before a sample is decoded."""
    if header.subtype not in _LOSSLESS_SUBTYPES:
        raise AudioRejected(
            "lossy_format",
            f"The {container} file uses the {header.subtype} codec. " + _LOSSY_HINT,
        )
    if header.declared_frames == 0:
        raise AudioRejected("empty", "The file contains no audio frames.")
    _check_format(header.sample_rate, header.channels)
    declared = header.declared_s
    low, high = DURATION_LIMITS[kind]
    if declared is not None and declared > high:
        raise _too_long(kind, f"declares {_span(declared)}")
    if declared is not None and declared < low:
        raise AudioRejected(
            "duration",
            f"A {kind} must last {low:g} to {high:g} seconds; this one declares {declared:.2f} s.",
        )


def _decode_checked(
    stream: AudioStream, container: str, kind: str, wave: WaveFormat | None = None
) -> CheckedUpload:
    header = stream.header
    hasher = PcmHasher(header.sample_rate, header.channels)
    peak = 0.0
    non_finite = 0
    try:
        scratch = np.empty((BLOCK_FRAMES, header.channels), dtype=np.float32)
        for block in stream.blocks(max_frames=max_frames(kind, header.sample_rate)):
            magnitude = np.abs(block, out=scratch[: len(block)])
            block_peak = float(magnitude.max())
            if not math.isfinite(block_peak):  # max() passes a NaN or an inf through
                finite = np.isfinite(block)
                non_finite += int(block.size - np.count_nonzero(finite))
                block_peak = float(magnitude[finite].max()) if finite.any() else 0.0
            peak = max(peak, block_peak)
            hasher.update(block)
    except DecodeBudgetExceeded as exceeded:
        raise _overrun_error(exceeded, container, kind) from None
    promised = header.declared_frames
    if container == "FLAC" and promised is not None and stream.decoded < promised:
        raise AudioRejected(
            "truncated",
            f"The FLAC header promises {promised} frames but only {stream.decoded} decode; "
            "the file was cut short. Upload the complete file.",
        )
    return CheckedUpload(
        format=container,
        subtype=header.subtype,
        sample_rate=header.sample_rate,
        channels=header.channels,
        frames=stream.decoded,
        pcm_sha256=hasher.hexdigest(),
        peak=peak,
        non_finite=non_finite,
        wave=wave,
    )


def _check_format(sample_rate: int, channels: int) -> None:
    if sample_rate < MIN_SAMPLE_RATE or sample_rate > MAX_SAMPLE_RATE:
        raise AudioRejected(
            "sample_rate",
            f"The sample rate is {sample_rate} Hz; the vault takes 44.1 to 192 kHz. "
            "Export at the rate you recorded at (44.1, 48, 88.2, 96, 176.4 or 192 kHz).",
        )
    if channels > MAX_CHANNELS:
        raise AudioRejected(
            "too_many_channels",
            f"The file has {channels} channels; send mono or stereo "
            "(split multichannel recordings into separate stems).",
        )


def _check_signal(upload: CheckedUpload, kind: str) -> None:
    if upload.frames == 0:
        raise AudioRejected("empty", "The file contains no audio frames.")
    if upload.non_finite:
        raise AudioRejected(
            "non_finite",
            f"{upload.non_finite} samples are NaN or infinite (a broken float export); export "
            "it again, ideally as 24-bit PCM.",
        )
    low, high = DURATION_LIMITS[kind]
    duration = upload.duration_s
    if duration < low or duration > high:
        raise AudioRejected(
            "duration",
            f"A {kind} must last {low:g} to {high:g} seconds; this one lasts {duration:.2f} s.",
        )
    if upload.peak == 0.0:
        raise AudioRejected("silent", "The file is digital silence (every sample is zero).")
    peak_db = 20.0 * math.log10(upload.peak)
    if peak_db < SILENCE_PEAK_DBFS:
        raise AudioRejected(
            "silent",
            f"The loudest sample is {peak_db:.1f} dBFS, below the {SILENCE_PEAK_DBFS:.0f} dBFS "
            "floor; this is effectively silence. Check the export level.",
        )


def _overrun_error(exceeded: DecodeBudgetExceeded, container: str, kind: str) -> AudioRejected:
    """The decode passed its budget: the header's own length, or the kind's limit."""
    if exceeded.declared:
        return AudioRejected(
            "header_mismatch",
            f"The {container} header declares {exceeded.limit} frames but the file holds more "
            "audio than that; the header was damaged or edited. Export the file again.",
        )
    return _too_long(kind, f"decodes to more than {_span(DURATION_LIMITS[kind][1])}")
