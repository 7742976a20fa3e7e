"""Peak memory of handling an upload, over the upload's bytes.

Each upload is handled by a fresh process (bench/_uploads_probe.py) running what submission
runs per file: read it, judge its header, decode it block by block under its kind's budget,
hash it. The figure is the growth of that process's peak resident set (VmHWM, reset to the
resident set just before the upload, after a warm-up upload) divided by the upload's size. The
bombs are also measured cold (no warm-up): for a file this small the growth is then mostly the
first decode faulting in library code (file-backed, shared, once per process), which the peer
text shows apart from the heap.

- largest: the largest legal stem to decode, a 30 min field recording at 192 kHz stereo (room
  tone, 16-bit FLAC, ~190 MB, under the 200 MiB upload limit): 2.8 GB as float32 samples.
- bomb: the worse of two FLACs of about 377 KB (the incident's size). One is 1.5 s of sound
  whose STREAMINFO declares 4 h 10 min (the incident: the web process tried to allocate 10 GiB);
  it is refused from its header. The other declares no length (STREAMINFO 0) and holds 0.5 s of
  sound then 20 min of silence, submitted as a loop; it is stopped one frame past 2 min.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from bench import Figure

FIGURES: tuple[str, ...] = ("upload_peak_rss_ratio_largest", "upload_peak_rss_ratio_bomb")
TARGET = 4.0


def _probe(path: Path, kind: str, *, cold: bool = False) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench._uploads_probe", str(path), kind]
        + (["--cold"] if cold else []),
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["ratio"] = (result["peak_kb"] - result["baseline_kb"]) * 1024 / result["bytes"]
    return result


def _set_flac_total(path: Path, frames: int) -> None:
    # STREAMINFO's 36-bit total sample count: low nibble of byte 21, bytes 22-25 (RFC 9639 8.2).
    with open(path, "r+b") as handle:
        handle.seek(21)
        byte21 = handle.read(1)[0]
        handle.seek(21)
        handle.write(bytes([(byte21 & 0xF0) | ((frames >> 32) & 0x0F)]))
        handle.write((frames & 0xFFFFFFFF).to_bytes(4, "big"))


def _room_tone(path: Path, seconds: int, rate: int) -> None:
    """Gaussian noise of one LSB rms at 16 bits: the quietest legal recording, the best packed."""
    rng = np.random.default_rng(1)
    with sf.SoundFile(path, "w", rate, 2, format="FLAC", subtype="PCM_16") as out:
        for _ in range(seconds):
            block = np.round(rng.standard_normal((rate, 2))) / 32768.0
            out.write(block.astype(np.float32))


def _tone_flac(path: Path, seconds: float, rate: int, silence_s: float = 0.0) -> None:
    rng = np.random.default_rng(2)
    frames = round(seconds * rate)
    t = np.arange(frames) / rate
    left = 0.3 * np.sin(2 * np.pi * 220.0 * t) + 0.05 * rng.standard_normal(frames)
    sound = np.stack([left, np.roll(left, 11)], axis=1).astype(np.float32)
    with sf.SoundFile(path, "w", rate, 2, format="FLAC", subtype="PCM_24") as out:
        out.write(sound)
        quiet = np.zeros((rate * 10, 2), dtype=np.float32)
        for _ in range(round(silence_s / 10)):
            out.write(quiet)


def _describe(result: dict[str, Any]) -> str:
    return (
        f"{result['bytes'] / 1e6:.3f} MB, {result['outcome']}, peak +"
        f"{(result['peak_kb'] - result['baseline_kb']) / 1024:.1f} MiB = {result['ratio']:.2f} x"
        f" bytes, {result['seconds']:.3f} s"
    )


def _describe_cold(result: dict[str, Any]) -> str:
    return (
        f"{result['ratio']:.2f} x (afterwards +{result['kept_file_kb']} KiB library pages, "
        f"+{result['kept_anon_kb']} KiB heap)"
    )


def run(selected: list[str] | None = None) -> Iterable[Figure]:
    if selected and not any(name.startswith(s) for name in FIGURES for s in selected):
        return
    with tempfile.TemporaryDirectory(prefix="bench-uploads-") as folder:
        root = Path(folder)
        declared = root / "declares-4h10min.flac"
        _tone_flac(declared, 1.5, 48000)
        _set_flac_total(declared, (4 * 3600 + 10 * 60) * 48000)
        unknown = root / "unknown-length-20min.flac"
        _tone_flac(unknown, 0.5, 48000, silence_s=20 * 60)
        _set_flac_total(unknown, 0)
        bombs = [_probe(declared, "loop"), _probe(unknown, "loop")]
        cold = [_probe(declared, "loop", cold=True), _probe(unknown, "loop", cold=True)]
        worst = max(bombs, key=lambda r: float(r["ratio"]))
        largest_path = root / "field-recording-30min-192k.flac"
        _room_tone(largest_path, 1800, 192000)
        largest = _probe(largest_path, "field-recording")
    what = (
        "growth of a fresh process's peak RSS (VmHWM, reset after a warm-up upload) while "
        "submission reads, checks, decodes and hashes the file, over the file's bytes"
    )
    yield Figure(
        name="upload_peak_rss_ratio_largest",
        value=round(largest["ratio"], 3),
        unit="x upload bytes",
        target=f"<={TARGET:g}",
        peer=(f"{what}; 30 min 192 kHz stereo FLAC ({_describe(largest)}), 2.76 GB as float32"),
    )
    yield Figure(
        name="upload_peak_rss_ratio_bomb",
        value=round(worst["ratio"], 3),
        unit="x upload bytes, worse of two",
        target=f"<={TARGET:g}",
        peer=(
            f"{what}; FLAC declaring 4 h 10 min as a loop: {_describe(bombs[0])}; FLAC of "
            f"unknown length holding 20 min as a loop: {_describe(bombs[1])}; cold processes: "
            f"{_describe_cold(cold[0])} and {_describe_cold(cold[1])}"
        ),
    )
