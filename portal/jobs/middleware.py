"""Dramatiq middleware for every worker process: the job sweeper, the render queue's own
worker threads, and the allocator settings render jobs want."""

from __future__ import annotations

import logging
import threading
from typing import Any

import dramatiq
from dramatiq.common import q_name
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
        if self.thread is not None:
            self.thread.join(timeout=30)  # let a pass in progress finish its writes

    def _run(self) -> None:
        from django.db import close_old_connections

        from portal.jobs.sweeper import jobs_sweep, worker_identity

        worker_id = worker_identity()
        while True:
            try:
                counts = jobs_sweep(worker_id=worker_id)
                if any(counts.values()):
                    logger.info(
                        # Rung again: queued where no worker heard it (the broker lost the
                        # message, or a command like seed_demo queued it with no worker up).
                        "jobs sweeper: %(rerung)s queued job(s) picked up, %(requeued)s "
                        "requeued from a lost worker, %(abandoned)s given up",
                        counts,
                    )
            except Exception:
                logger.exception("sweeper pass failed; trying again")
            finally:
                close_old_connections()
            if self.stop_event.wait(self.interval_s):
                return


class SweeperMiddleware(Middleware):
    """One sweeper per process, however many workers (pools) it runs: it starts with the first
    and stops with the last."""

    def __init__(self) -> None:
        self.sweeper: Sweeper | None = None
        self.workers: set[int] = set()

    def after_worker_boot(self, broker: Any, worker: Any) -> None:
        from django.conf import settings

        self.workers.add(id(worker))
        if self.sweeper is None:
            self.sweeper = Sweeper(settings.JOB_SWEEP_INTERVAL_S)
            self.sweeper.start()

    def before_worker_shutdown(self, broker: Any, worker: Any) -> None:
        self.workers.discard(id(worker))
        if self.sweeper is not None and not self.workers:
            self.sweeper.stop()
            self.sweeper = None


class RenderPoolMiddleware(Middleware):
    """Give renders their own worker threads in every worker process that serves all queues.

    One dramatiq Worker feeds every queue into one pool of threads: a flood of renders (minutes
    each) would then hold every thread while provenance checks, webhooks and payouts wait. So a
    worker about to consume every queue (`rundramatiq`, `runworker`, the embedded worker of
    `make run`) is narrowed to the other queues, and a second Worker with its own
    WORKER_RENDER_THREADS threads consumes the render queue beside it, in the same process.
    A worker started for chosen queues (`rundramatiq --queues renders`) is left as it is.
    """

    def __init__(self) -> None:
        self.narrowed: set[int] = set()  # id() of the workers this middleware narrowed
        self.pools: dict[int, dramatiq.Worker] = {}  # id(narrowed worker) -> its render pool

    def before_worker_boot(self, broker: Any, worker: Any) -> None:
        from portal.jobs.registry import DEFAULT_QUEUE, RENDER_QUEUE

        if worker.consumer_whitelist:
            return  # the operator (or this middleware, for a render pool) chose its queues
        declared = {q_name(queue) for queue in broker.get_declared_queues()}
        # Never empty: an empty whitelist would mean "every queue" again.
        worker.consumer_whitelist = (declared | {DEFAULT_QUEUE}) - {RENDER_QUEUE}
        self.narrowed.add(id(worker))

    def after_worker_boot(self, broker: Any, worker: Any) -> None:
        from django.conf import settings

        from portal.jobs.registry import RENDER_QUEUE

        if id(worker) not in self.narrowed or id(worker) in self.pools:
            return
        pool = dramatiq.Worker(
            broker, queues={RENDER_QUEUE}, worker_threads=settings.WORKER_RENDER_THREADS
        )
        self.pools[id(worker)] = pool
        pool.start()
        logger.debug("render queue: %s worker thread(s) of its own", settings.WORKER_RENDER_THREADS)

    def before_worker_shutdown(self, broker: Any, worker: Any) -> None:
        self.narrowed.discard(id(worker))
        pool = self.pools.pop(id(worker), None)
        if pool is not None:
            pool.stop()


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
        from renderer.threads import pin_blas_threads

        keep_freed_memory()
        # Every job's numpy work (renders, provenance checks) runs inside the worker's own
        # threads, so BLAS gets one thread per call from the start, not after a first render.
        pin_blas_threads()
