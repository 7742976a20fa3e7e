"""Independent readers of the delivered files, shared by the renderer's and the portal's tests:
the ffmpeg and ffprobe command lines (not our Python) for MP3s, c2pa-python's Reader, and the
Node verifier of our signatures."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import c2pa
import numpy as np
import numpy.typing as npt
import pytest


def need_ffmpeg() -> None:
    """Skip unless the ffmpeg and ffprobe command lines are installed."""
    if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
        pytest.skip("ffmpeg/ffprobe are not installed")


def ffprobe(data: bytes, suffix: str, *entries: str) -> dict[str, Any]:
    """ffprobe's JSON about a file's first audio stream and its packets (`entries`: extra
    -show_* flags such as "-show_packets")."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"file{suffix}"
        path.write_bytes(data)
        command = ["ffprobe", "-v", "error", "-of", "json", "-show_streams", "-show_format"]
        out = subprocess.run([*command, *entries, str(path)], capture_output=True, check=True)
    info: dict[str, Any] = json.loads(out.stdout)
    return info


def ffmpeg_decode(data: bytes, suffix: str, channels: int) -> npt.NDArray[np.float32]:
    """The file decoded by the ffmpeg CLI to float32 (frames, channels), gapless trimming and
    all, as a player would."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"file{suffix}"
        path.write_bytes(data)
        out = subprocess.run(
            ["ffmpeg", "-v", "error", "-i", str(path), "-f", "f32le", "-"],
            capture_output=True,
            check=True,
        )
    return np.frombuffer(out.stdout, dtype="<f4").reshape(-1, channels).astype(np.float32)


NODE = shutil.which("node")
VERIFIER = Path(__file__).resolve().parents[2] / "tools" / "verify-manifest.mjs"


def node_verify(file: Path, key: Path) -> subprocess.CompletedProcess[str]:
    """tools/verify-manifest.mjs (Node's standard library only) on `file` with the PEM `key`;
    skips when Node is not installed."""
    if NODE is None:
        pytest.skip("node is not installed")
    return subprocess.run(
        [NODE, str(VERIFIER), str(file), str(key)], capture_output=True, text=True, timeout=60
    )


def c2pa_report(data: bytes, mime: str) -> dict[str, Any]:
    """c2pa-python's report of a file: validation_state, validation_status, manifests."""
    with c2pa.Reader(mime, io.BytesIO(data)) as reader:
        report: dict[str, Any] = json.loads(reader.json())
    return report


def status_codes(report: dict[str, Any]) -> set[str]:
    return {str(s["code"]) for s in report.get("validation_status", [])}


def active_manifest(report: dict[str, Any]) -> dict[str, Any]:
    manifest: dict[str, Any] = report["manifests"][report["active_manifest"]]
    return manifest


def assertion(manifest: dict[str, Any], label: str) -> Any:
    """The data of the manifest's assertion `label` (KeyError when it has none)."""
    for item in manifest.get("assertions", []):
        if item["label"] == label:
            return item["data"]
    raise KeyError(label)


def valid_but_untrusted(report: dict[str, Any]) -> bool:
    """Valid Content Credentials whose only complaint is the development certificate."""
    return report["validation_state"] == "Valid" and status_codes(report) <= {
        "signingCredential.untrusted"
    }


def band_snr_db(
    reference: npt.NDArray[np.float32],
    decoded: npt.NDArray[np.float32],
    sample_rate: int,
    cutoff_hz: float = 16000.0,
) -> float:
    """SNR in dB of `decoded` against `reference` below `cutoff_hz`: LAME low-passes at
    320 kbps (~20 kHz), so broadband content loses its top octave by design, which is codec
    error, not a fault; below it the waveforms must match sample for sample."""
    from scipy.signal import butter, sosfiltfilt

    sos = butter(8, cutoff_hz, fs=sample_rate, output="sos")
    ref = sosfiltfilt(sos, reference.astype(np.float64), axis=0)
    out = sosfiltfilt(sos, decoded.astype(np.float64), axis=0)
    return float(10 * np.log10(np.sum(ref**2) / np.sum((out - ref) ** 2)))
