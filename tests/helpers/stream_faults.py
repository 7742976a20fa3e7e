"""A fault for stream render tests, injected into real worker processes.

A worker started with this module among its `python -m dramatiq` modules and STREAM_FAULT_DIR
in its environment renders stream segments as usual, except one: the first worker process to
reach the segment index written in STREAM_FAULT_DIR/hold-at records its pid in
STREAM_FAULT_DIR/held and stops there, in the middle of the segment (its audio mixed, nothing
stored or committed), for STREAM_FAULT_HOLD_S seconds (default: until killed). Its job keeps
its claim and its heartbeat meanwhile: a worker killed there is one killed mid-segment, a worker
let go is a slow job. Every other process, and every later render, passes through.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

FAULT_DIR = os.environ.get("STREAM_FAULT_DIR")


def held(directory: Path) -> int | None:
    """The pid of the worker process holding the segment, once one does."""
    try:
        return int((directory / "held").read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None


def _install(directory: Path) -> None:
    from portal.streams import engine

    render = engine.render_segment
    hold_s = float(os.environ.get("STREAM_FAULT_HOLD_S", "3600"))

    def render_segment(state: Any, **kwargs: Any) -> Any:
        segment = render(state, **kwargs)
        try:
            target = int((directory / "hold-at").read_text())
        except (FileNotFoundError, ValueError):
            return segment
        if int(state.segment_index) != target:
            return segment
        try:  # exclusive: one process holds, the others (and this one later) pass through
            fd = os.open(directory / "held", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return segment
        os.write(fd, f"{os.getpid()} {target}".encode())
        os.close(fd)
        time.sleep(hold_s)
        return segment

    engine.render_segment = render_segment


if FAULT_DIR:
    _install(Path(FAULT_DIR))
