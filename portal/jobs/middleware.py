"""Dramatiq middleware that runs the job sweeper inside every worker process."""

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
