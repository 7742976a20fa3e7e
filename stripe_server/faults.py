"""Fault injection: errors, dropped connections and delays scheduled for matching requests.

:class:`FaultInjection` gives :class:`~stripe_server.StripeTestServer` its ``fail_next``,
``rate_limit_next``, ``drop_next`` and ``delay_next`` controls; the request handler takes the
first matching fault for each /v1 request (see ``handler.py``).
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass
from typing import Any, Literal

from .params import error_body

JSON = dict[str, Any]
FaultKind = Literal["error", "drop", "delay"]

_DEFAULT_ERRORS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Injected error (Stripe test server)."),
    401: ("invalid_request_error", None, "Invalid API Key provided."),
    402: ("card_error", "card_declined", "Your card was declined."),
    403: (
        "invalid_request_error",
        None,
        "The provided key does not have the required permissions.",
    ),
    404: ("invalid_request_error", "resource_missing", "No such object."),
    409: (
        "invalid_request_error",
        "lock_timeout",
        "This object cannot be accessed right now because another API request or Stripe "
        "process is currently accessing it. If you see this error intermittently, retry the "
        "request.",
    ),
    429: (
        "invalid_request_error",
        "rate_limit",
        "Request rate limit exceeded. Learn more about rate limits here "
        "https://stripe.com/docs/rate-limits.",
    ),
}


def fault_error_body(
    status: int,
    *,
    type: str | None = None,
    code: str | None = None,
    message: str | None = None,
    param: str | None = None,
) -> JSON:
    """Stripe's error JSON for an injected ``status`` (5xx -> api_error, 429 -> rate_limit)."""
    default_type, default_code, default_message = _DEFAULT_ERRORS.get(
        status,
        ("api_error", None, "An unknown error occurred")
        if status >= 500
        else ("invalid_request_error", None, "Injected error (Stripe test server)."),
    )
    return error_body(
        message or default_message,
        type=type or default_type,
        code=code if code is not None else default_code,
        param=param,
    )


@dataclass
class Fault:
    """A scheduled failure for the next ``times`` requests matching method + path prefix."""

    kind: FaultKind
    method: str
    path: str
    times: int = 1
    status: int = 500
    body: JSON | None = None
    seconds: float = 0.0
    after_apply: bool = False
    store: bool = False
    exact: bool = False

    def matches(self, method: str, path: str) -> bool:
        if self.method not in ("*", method):
            return False
        return path == self.path if self.exact else path.startswith(self.path)


class FaultInjection:
    """The fault controls of the server; faults are kept in ``_faults`` under ``_lock``."""

    _lock: threading.RLock
    _faults: list[Fault]

    def fail_next(
        self,
        method: str,
        path: str,
        *,
        status: int = 500,
        times: int = 1,
        type: str | None = None,
        code: str | None = None,
        message: str | None = None,
        param: str | None = None,
        body: JSON | None = None,
        after_apply: bool = False,
        store: bool = False,
        exact: bool = False,
    ) -> Fault:
        """Answer the next ``times`` requests matching ``method`` (or ``"*"``) and ``path``
        prefix with ``status`` and Stripe's error JSON (500 -> api_error, 429 -> rate_limit).

        ``after_apply``: the request is executed (and its real result saved under its
        Idempotency-Key) but the client gets the error. ``store``: save the injected error
        under the Idempotency-Key so a retry replays it (what Stripe does for 500s raised
        inside an endpoint). By default an injected error is not saved, so a retry runs.
        """
        fault = Fault(
            kind="error",
            method=method.upper(),
            path=path,
            times=times,
            status=status,
            body=body
            or fault_error_body(status, type=type, code=code, message=message, param=param),
            after_apply=after_apply,
            store=store,
            exact=exact,
        )
        return self._add_fault(fault)

    def rate_limit_next(self, method: str, path: str, *, times: int = 1) -> Fault:
        return self.fail_next(method, path, status=429, times=times)

    def drop_next(
        self,
        method: str,
        path: str,
        *,
        times: int = 1,
        after_apply: bool = False,
        exact: bool = False,
    ) -> Fault:
        """Close the connection without answering (optionally after executing the request)."""
        fault = Fault(
            kind="drop",
            method=method.upper(),
            path=path,
            times=times,
            after_apply=after_apply,
            exact=exact,
        )
        return self._add_fault(fault)

    def delay_next(
        self,
        method: str,
        path: str,
        *,
        seconds: float,
        times: int = 1,
        after_apply: bool = False,
        exact: bool = False,
    ) -> Fault:
        """Sleep ``seconds`` before executing the request, or (``after_apply``) after it was
        executed and its result saved under its Idempotency-Key but before answering - the
        client times out although the change happened."""
        fault = Fault(
            kind="delay",
            method=method.upper(),
            path=path,
            times=times,
            seconds=seconds,
            after_apply=after_apply,
            exact=exact,
        )
        return self._add_fault(fault)

    def faults(self) -> list[Fault]:
        with self._lock:
            return [copy.deepcopy(f) for f in self._faults]

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _add_fault(self, fault: Fault) -> Fault:
        if fault.times < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            self._faults.append(fault)
        return fault

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return copy.deepcopy(fault)
        return None
