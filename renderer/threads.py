"""How many threads a render uses.

The engine parallelises a render itself: stems decode and resample on a pool of
`default_workers()` threads, and the mix is summed in as many spans.
"""

from __future__ import annotations

import os


def default_workers() -> int:
    """Threads for decoding stems: RENDER_THREADS, else the cores this process may use."""
    configured = os.environ.get("RENDER_THREADS", "")
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)
