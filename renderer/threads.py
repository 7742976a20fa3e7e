"""How many threads a render uses, and keeping BLAS inside them.

The engine parallelises a render itself: stems decode and resample on a pool of
`default_workers()` threads, and the mix is summed in as many spans. A BLAS product inside one
of those threads (the resampler's filter bank, the true-peak meter, the limiter) must not start
threads of its own: OpenBLAS's default is a thread per core for every call, so the pool's
threads each fan out over every core at once. Measured on the project's 2-core machine, 8 stems
resampled on 2 threads took 0.27 s with OpenBLAS's default threads and 0.14 s with one thread
per call; on a machine shared with other work, 5-10x slower. `pin_blas_threads` gives BLAS one
thread per calling thread, so a render runs on exactly the threads it was given.
"""

from __future__ import annotations

import os
from typing import Any

_pinned: int | None = None


def default_workers() -> int:
    """Threads for decoding stems: RENDER_THREADS, else the cores this process may use."""
    configured = os.environ.get("RENDER_THREADS", "")
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def pin_blas_threads(threads: int = 1) -> bool:
    """Limit every BLAS library loaded in this process (OpenBLAS, MKL, BLIS) to `threads`
    threads per call, for the rest of the process's life; True when applied.

    Idempotent and cheap after the first call. A no-op (False) when threadpoolctl is not
    installed, where BLAS keeps its defaults."""
    global _pinned
    if _pinned == threads:
        return True
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return False
    # Not used as a context manager: the limit stays until the process ends.
    limiter: Any = threadpool_limits(limits=threads, user_api="blas")
    del limiter
    _pinned = threads
    return True
