"""Job kinds: each domain registers the handler that does its work.

A handler takes the job's id and arguments and a progress callback, calls one service, and
returns a JSON-able result. It raises JobFailed for an expected failure (bad input, a rule):
that is recorded on the row and never retried. Anything else is retried with backoff.

Each kind names its Dramatiq queue: renders have their own ("renders"), with their own worker
threads, so a flood of them never delays provenance checks, webhooks or payouts ("default").
Each kind also has a time limit, enforced by the worker (see jobs.services.job_execute).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Progress = Callable[[int], None]
Handler = Callable[..., Any]


DEFAULT_QUEUE = "default"
RENDER_QUEUE = "renders"
QUEUES = (DEFAULT_QUEUE, RENDER_QUEUE)
# The actor that serves each queue (declared in portal.jobs.tasks). Jobs ring it by name through
# the broker, so the code that enqueues never imports the actors, which import the code they run.
QUEUE_ACTORS = {DEFAULT_QUEUE: "run_job", RENDER_QUEUE: "run_render_job"}


class JobFailed(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class JobRetry(Exception):
    """An expected, passing failure (a webhook receiver that answered 500, say): the job is
    retried with backoff and given up after max_attempts like any error, but logged as one
    warning line, not a traceback, since nothing in our code went wrong."""


class ClaimLost(BaseException):
    """This worker no longer holds the job: the sweeper took it back (a stale heartbeat) and
    another worker may be running it. Raised in the job's thread to stop it before it writes
    results that are now someone else's.

    A BaseException, as dramatiq's TimeLimitExceeded is: handlers catch Exception to record
    their own failures (a render marks its mix failed), and a worker that lost its claim must
    not record anything, failure included."""


GiveUpHook = Callable[..., None]


@dataclass(frozen=True)
class JobKind:
    name: str
    handler: Handler
    max_attempts: int
    time_limit_s: float
    # Called with (job_id=, message=, **args) when the job is abandoned without its handler
    # having had the last word: attempts exhausted, or every worker died running it. The domain
    # then records the failure on its own row (a mix stuck "rendering" helps nobody).
    on_give_up: GiveUpHook | None = None
    queue: str = DEFAULT_QUEUE
    # (progress from which it runs, what it is doing): the stage a job page shows, read off the
    # percentage the handler reports (portal/jobs/progress.py). Ascending.
    stages: tuple[tuple[int, str], ...] = ()


_KINDS: dict[str, JobKind] = {}


def job_kind(
    name: str,
    *,
    max_attempts: int = 5,
    time_limit_s: float = 600,
    on_give_up: GiveUpHook | None = None,
    queue: str = DEFAULT_QUEUE,
    stages: tuple[tuple[int, str], ...] = (),
) -> Callable[[Handler], Handler]:
    if queue not in QUEUES:
        raise ValueError(f"Job kind {name!r}: queue must be one of {QUEUES}, not {queue!r}.")
    if not time_limit_s > 0:
        raise ValueError(f"Job kind {name!r}: time_limit_s must be positive.")
    if [start for start, _ in stages] != sorted(start for start, _ in stages):
        raise ValueError(f"Job kind {name!r}: stages must be in ascending order of progress.")

    def register(handler: Handler) -> Handler:
        _KINDS[name] = JobKind(name, handler, max_attempts, time_limit_s, on_give_up, queue, stages)
        return handler

    return register


def get_kind(name: str) -> JobKind:
    try:
        return _KINDS[name]
    except KeyError:
        raise JobFailed(
            "unknown_kind", f"No handler is registered for job kind {name!r}."
        ) from None


def find_kind(name: str) -> JobKind | None:
    return _KINDS.get(name)


def known_kinds() -> list[str]:
    return sorted(_KINDS)


def kinds_on_other_queues(queue: str) -> list[str]:
    """The kinds a worker of `queue` must leave alone (unknown kinds are anyone's: whoever picks
    one up records it as failed)."""
    return sorted(name for name, kind in _KINDS.items() if kind.queue != queue)
