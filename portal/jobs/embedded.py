"""The embedded worker: Dramatiq's in-process broker with worker threads, for BROKER_URL unset.

It runs in the same process as the web server (`make run`) or alone (`manage.py runworker`).
The job rows make it as durable as the Redis setup: on start, the sweeper picks up what a
previous process left queued or running. Like `rundramatiq`, it serves the render queue with
threads of its own (portal.jobs.middleware.RenderPoolMiddleware).
"""

from __future__ import annotations

import threading

import dramatiq
from django.conf import settings
from dramatiq.brokers.stub import StubBroker

_boot_lock = threading.Lock()
_booted: set[int] = set()  # id() of the brokers whose process_boot was emitted


def boot_process(broker: dramatiq.Broker) -> None:
    """Emit process_boot once per broker and process, as the dramatiq CLI does in each worker
    process: TimeLimit starts its timer thread on it (without it no time limit is enforced),
    KeepFreedMemoryMiddleware sets the allocator up. Twice would start TimeLimit's thread twice."""
    with _boot_lock:
        if id(broker) in _booted:
            return
        broker.emit_after("process_boot")
        _booted.add(id(broker))


def start_worker(threads: int | None = None) -> dramatiq.Worker:
    """A worker in this process on the configured broker, whichever it is."""
    broker = dramatiq.get_broker()
    import portal.jobs.tasks  # noqa: F401  (declares the actors on the broker)

    boot_process(broker)
    worker = dramatiq.Worker(broker, worker_threads=threads or settings.EMBEDDED_WORKER_THREADS)
    worker.start()
    return worker


def start_embedded_worker(threads: int | None = None) -> dramatiq.Worker:
    if not isinstance(dramatiq.get_broker(), StubBroker):
        raise RuntimeError("The embedded worker needs BROKER_URL unset (the in-process broker).")
    return start_worker(threads)
