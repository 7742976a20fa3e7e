"""Keep freed memory in a rendering process instead of handing it back to the kernel.

A 180 s stereo render passes through a dozen float32 buffers of ~70 MB each. glibc serves
blocks that large with a fresh mmap and returns them with munmap when numpy frees them, so
every buffer is faulted in page by page again on its next use. On the virtual machines renders
run on, a page fault costs several times a pass over the page: measured on this project's CI
machine, a 180 s render on one core took 2.1 s with glibc's defaults and 1.25 s with freed
memory kept (bench/render.py). The price is that the process keeps its peak heap (about 1 GB
for a 180 s render) for the next job, which is what a render worker wants.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

# mallopt(3) parameter numbers (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_MAX = -4

_applied = False


def keep_freed_memory() -> bool:
    """Make glibc serve large blocks from the heap and keep freed ones; True when applied.

    Idempotent. A no-op (False) off glibc (macOS, musl), where the defaults stay.
    """
    global _applied
    if _applied:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    settings = (
        (_M_MMAP_MAX, 0),  # no mmap per large block: the heap serves (and keeps) them all
        (_M_TRIM_THRESHOLD, 1 << 30),  # give memory back only past 1 GiB free at the top
        (_M_TOP_PAD, 256 << 20),  # grow the heap in 256 MiB steps, not page by page
    )
    _applied = all(mallopt(parameter, value) == 1 for parameter, value in settings)
    return _applied
