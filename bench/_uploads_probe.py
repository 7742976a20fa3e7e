"""Handles one upload in a process of its own and reports its memory (see bench/uploads.py).

`python -m bench._uploads_probe FILE KIND [--cold]` prints one JSON object: the process's
resident set before the upload (after a warm-up upload has loaded every library and code path;
with --cold, after imports only), its peak while the submission's path handles FILE (read,
validate, decode, hash: `_prepare_file`, what `stem_submit` runs per file), how much of what
stayed resident is file-backed (library code faulted in) rather than heap, the wall time, and
the outcome (accepted, or the refusal's code).
"""

from __future__ import annotations

import gc
import io
import json
import os
import sys
import time
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} is not in /proc/self/status")


def _reset_peak() -> bool:
    """Reset VmHWM to the current resident set (Linux >= 4.0, clear_refs value 5)."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        return False
    return True


def _warm_up(prepare: Any, meta: dict[str, Any]) -> None:
    import numpy as np
    import soundfile as sf
    from django.core.files.uploadedfile import SimpleUploadedFile

    t = np.arange(48000) / 48000
    tone = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    for fmt in ("WAV", "FLAC"):
        buffer = io.BytesIO()
        sf.write(buffer, np.stack([tone, tone], axis=1), 48000, format=fmt, subtype="PCM_16")
        prepare(SimpleUploadedFile(f"warm.{fmt.lower()}", buffer.getvalue()), dict(meta))


def main(path: str, kind: str, cold: bool) -> None:
    import django
    import numpy  # noqa: F401 - loaded before the baseline in both modes
    import soundfile  # noqa: F401

    django.setup()
    from django.core.files import File

    from portal.core.errors import ApplicationError
    from portal.stems.services.upload_checks import prepare_file

    meta = {"kind": kind, "title": "bench"}

    def prepare(upload: Any, metadata: dict[str, Any]) -> Any:
        return prepare_file(upload, metadata, label="")

    if not cold:
        _warm_up(prepare, {"kind": "stem", "title": "warm"})
    gc.collect()
    reset = _reset_peak()
    baseline_kb = _status_kb("VmRSS") if reset else _status_kb("VmHWM")
    anon_kb, file_kb = _status_kb("RssAnon"), _status_kb("RssFile")
    outcome = "accepted"
    with open(path, "rb") as handle:
        # What Django hands the service for a large upload: a file on disk with a size.
        upload = File(handle, name=os.path.basename(path))
        start = time.perf_counter()
        try:
            prepare(upload, meta)
        except ApplicationError as error:
            outcome = error.code
        seconds = time.perf_counter() - start
    peak_kb = _status_kb("VmHWM")
    print(
        json.dumps(
            {
                "baseline_kb": baseline_kb,
                "peak_kb": peak_kb,
                "kept_anon_kb": _status_kb("RssAnon") - anon_kb,
                "kept_file_kb": _status_kb("RssFile") - file_kb,
                "bytes": os.path.getsize(path),
                "seconds": seconds,
                "outcome": outcome,
                "peak_reset": reset,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], cold="--cold" in sys.argv[3:])
