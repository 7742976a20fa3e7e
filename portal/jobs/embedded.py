"""The embedded worker: Dramatiq's in-process broker with worker threads, for BROKER_URL unset.

It runs in the same process as the web server (`make run`) or alone (`manage.py runworker`).
The job rows make it as durable as the Redis setup: on start, the sweeper picks up what a
previous process left queued or running.
"""

from __future__ import annotations

import dramatiq
from django.conf import settings
from dramatiq.brokers.stub import StubBroker


def start_embedded_worker(threads: int | None = None) -> dramatiq.Worker:
    broker = dramatiq.get_broker()
    if not isinstance(broker, StubBroker):
        raise RuntimeError("The embedded worker needs BROKER_URL unset (the in-process broker).")
    import portal.jobs.tasks  # noqa: F401  (declares the actor on the broker)

    # TimeLimit and our sweeper arm on these signals; the dramatiq CLI emits them, we must too.
    broker.emit_after("process_boot")
    worker = dramatiq.Worker(broker, worker_threads=threads or settings.EMBEDDED_WORKER_THREADS)
    worker.start()
    return worker
