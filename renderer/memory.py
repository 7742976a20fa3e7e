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
_M_ARENA_MAX = -8

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
        # Give memory back only past 2 GiB free at the top of the heap (mallopt takes an int).
        # 1 GiB was too little: with 256 MiB of top pad, a heap that has served a 1 GB whole-file
        # mix can hold more than that free at its top and was trimmed after every mix, to be
        # faulted in again (17,000 faults and 0.3-0.5 s a mix, measured in bench/render.py).
        (_M_TRIM_THRESHOLD, (1 << 31) - 1),
        (_M_TOP_PAD, 256 << 20),  # grow the heap in 256 MiB steps, not page by page
        # One arena for every thread. A thread's own arena grows in heaps of at most 64 MB, so
        # glibc maps a larger block (a decoded stem) afresh whatever M_MMAP_MAX says, and the
        # decoding pool's stems were faulted in again on every render (~0.5 GB a render; and
        # after the process sat idle for a few seconds, 40% slower still: 1.3 s instead of
        # 0.9 s for bench/render.py's whole-file mix). Allocations from Python are serialised by
        # the GIL anyway; libFLAC's few while decoding now share the arena's lock, at no cost
        # the whole-file mix shows (0.85-0.93 s with one arena).
        (_M_ARENA_MAX, 1),
    )
    _applied = all(mallopt(parameter, value) == 1 for parameter, value in settings)
    return _applied
