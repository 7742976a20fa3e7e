"""Dramatiq middleware for every worker process: the job sweeper, and the allocator settings
render jobs want."""

from __future__ import annotations

import logging
import threading
from typing import Any

from dramatiq.middleware import Middleware

logger = logging.getLogger(__name__)


class Sweeper:
    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name="job-sweeper", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()

    def _run(self) -> None:
        from django.db import close_old_connections

        from portal.jobs.services import jobs_sweep, worker_identity

        worker_id = worker_identity()
        while True:
            try:
                counts = jobs_sweep(worker_id=worker_id)
                if any(counts.values()):
                    logger.info("sweeper: %s", counts)
            except Exception:
                logger.exception("sweeper pass failed; trying again")
            finally:
                close_old_connections()
            if self.stop_event.wait(self.interval_s):
                return


class SweeperMiddleware(Middleware):
    def __init__(self) -> None:
        self.sweeper: Sweeper | None = None

    def after_worker_boot(self, broker: Any, worker: Any) -> None:
        from django.conf import settings

        self.sweeper = Sweeper(settings.JOB_SWEEP_INTERVAL_S)
        self.sweeper.start()

    def before_worker_shutdown(self, broker: Any, worker: Any) -> None:
        if self.sweeper:
            self.sweeper.stop()


class KeepFreedMemoryMiddleware(Middleware):
    """Switch every process that runs jobs (`rundramatiq` and the embedded worker both boot
    through this hook) to `renderer.memory.keep_freed_memory`, before it starts any thread: once
    other threads (TimeLimit's timer, the worker threads) have malloc arenas of their own, new
    threads may be handed one of those, and glibc maps a thread arena's blocks over 64 MB afresh
    on every use.

    Dramatiq runs `after_*` hooks in reverse list order: listed last, this one runs first on
    process boot, before TimeLimit starts its timer thread."""

    def after_process_boot(self, broker: Any) -> None:
        from renderer.memory import keep_freed_memory

        keep_freed_memory()
