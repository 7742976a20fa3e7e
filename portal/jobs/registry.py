"""Job kinds: each domain registers the handler that does its work.

A handler takes the job's id and arguments and a progress callback, calls one service, and
returns a JSON-able result. It raises JobFailed for an expected failure (bad input, a rule):
that is recorded on the row and never retried. Anything else is retried with backoff.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Progress = Callable[[int], None]
Handler = Callable[..., Any]


class JobFailed(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


GiveUpHook = Callable[..., None]


@dataclass(frozen=True)
class JobKind:
    name: str
    handler: Handler
    max_attempts: int
    time_limit_s: int
    # Called with (job_id=, message=, **args) when the job is abandoned without its handler
    # having had the last word: attempts exhausted, or every worker died running it. The domain
    # then records the failure on its own row (a mix stuck "rendering" helps nobody).
    on_give_up: GiveUpHook | None = None


_KINDS: dict[str, JobKind] = {}


def job_kind(
    name: str,
    *,
    max_attempts: int = 5,
    time_limit_s: int = 600,
    on_give_up: GiveUpHook | None = None,
) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        _KINDS[name] = JobKind(name, handler, max_attempts, time_limit_s, on_give_up)
        return handler

    return register


def get_kind(name: str) -> JobKind:
    try:
        return _KINDS[name]
    except KeyError:
        raise JobFailed(
            "unknown_kind", f"No handler is registered for job kind {name!r}."
        ) from None


def known_kinds() -> list[str]:
    return sorted(_KINDS)
