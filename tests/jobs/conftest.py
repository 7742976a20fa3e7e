from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest


@pytest.fixture
def real_worker(transactional_db: None) -> Iterator[Callable[..., Any]]:
    """Start a real dramatiq Worker in this process on the configured broker (the in-process
    StubBroker, or Redis with BROKER_URL set), booted as `rundramatiq` boots one: process_boot
    emitted (TimeLimit armed), our middleware in place (the render queue's own threads)."""
    import dramatiq

    from portal.jobs.embedded import start_worker

    broker = dramatiq.get_broker()
    # Doorbells other tests rang and nobody answered would otherwise reach this worker first.
    broker.flush_all()
    middleware_before = list(broker.middleware)
    started: list[Any] = []

    def start(threads: int = 1) -> Any:
        worker = start_worker(threads)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop(timeout=30_000)
    # Each Worker registers a middleware of its own that adds consumers as queues appear; a
    # stopped worker's must not linger on the process-wide broker.
    broker.middleware[:] = [m for m in broker.middleware if m in middleware_before]
    broker.flush_all()
