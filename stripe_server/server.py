"""A local Stripe-compatible HTTP server for tests (the project's only fake).

Start it from a test::

    with StripeTestServer(api_key="sk_test_123", webhook_url=None) as server:
        client = stripe.StripeClient(
            "sk_test_123", base_addresses={"api": server.base_url}, max_network_retries=0
        )

It speaks Stripe's wire protocol (form-encoded requests, JSON responses, Bearer auth,
``Idempotency-Key`` semantics, ``Stripe-Signature`` webhooks). Test controls are Python
methods on :class:`StripeTestServer` and the same operations over HTTP under ``/_test/``.
"""

from __future__ import annotations

import binascii
import contextlib
import copy
import json
import socket
import threading
import time
import traceback
from base64 import b64decode
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, TypeVar
from urllib.parse import parse_qs, parse_qsl, urlsplit

from .api import API_VERSION, RequestContext, StripeState, new_id
from .fixtures import Fixtures
from .params import StripeError, error_body, parse_pairs
from .webhooks import WebhookDelivery, WebhookDispatcher, WebhookMode

JSON = dict[str, Any]
FaultKind = Literal["error", "drop", "delay"]
T = TypeVar("T")

# Stripe: "keys are eligible to be removed from the system automatically after they're at least
# 24 hours old". This server forgets a key once it is 24 hours old by its own clock (the worst
# case a client must survive), so a retry after that executes again.
IDEMPOTENCY_TTL = 24 * 3600

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


@dataclass(frozen=True)
class RequestRecord:
    """One request seen by the server (for assertions)."""

    method: str
    path: str
    params: JSON
    idempotency_key: str | None
    status: int | None  # None: the connection was dropped without a response
    request_id: str
    api_key: str | None
    stripe_account: str | None
    replayed: bool
    fault: str | None  # "error" | "drop" | "delay" when an injected fault fired
    response: Any
    time: float


@dataclass
class _IdempotencyEntry:
    method: str
    path: str
    fingerprint: str
    created: float
    status: int | None = None  # None while the first request is still executing
    body: bytes = b""
    request_id: str = ""
    extra: dict[str, str] = field(default_factory=dict)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: StripeTestServer) -> None:
        self.app = app
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "stripe-test-server"
    sys_version = ""
    timeout = 120
    # Keep-alive plus Nagle's algorithm stalls each small response ~40 ms behind the client's
    # delayed ACK; Stripe's servers answer at once, and so must this one.
    disable_nagle_algorithm = True
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: use StripeTestServer.requests() instead."""

    def do_GET(self) -> None:
        self.server.app._handle(self, "GET")

    def do_POST(self) -> None:
        self.server.app._handle(self, "POST")

    def do_DELETE(self) -> None:
        self.server.app._handle(self, "DELETE")


def _encode(payload: Any) -> bytes:
    return (json.dumps(payload, indent=2) + "\n").encode("utf-8")


def _redact(key: str) -> str:
    prefix = key[: key.find("_", key.find("_") + 1) + 1] if key.count("_") >= 2 else ""
    return f"{prefix}{'*' * max(0, len(key) - len(prefix) - 4)}{key[-4:]}"


def _as_bool(value: Any, default: bool = False) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("1", "true", "yes", "on")


class StripeTestServer:
    """Stripe-compatible server on 127.0.0.1 (port 0 = pick a free port).

    ``api_key``: the only accepted secret key; ``None`` accepts any ``sk_test_``/``rk_test_`` key.
    ``webhook_mode``: ``"sync"`` delivers each event before the API response that caused it is
    sent; ``"background"`` delivers in order on a worker thread (see :meth:`wait_for_webhooks`).
    ``balance``: initial available platform balance per currency (default ``{"usd": 0}``).
    ``clock``: the server's time source (Unix seconds) for ``created`` timestamps, webhook
    signatures and idempotency key expiry; :meth:`advance_clock` (or ``POST /_test/clock``)
    moves it forward. Both are test controls: Stripe's clock is nobody's to move.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        webhook_url: str | None = None,
        webhook_secret: str = "whsec_test",
        webhook_mode: WebhookMode = "sync",
        webhook_timeout: float = 10.0,
        balance: Mapping[str, int] | None = None,
        fixtures_path: str | None = None,
        clock: Callable[[], float] = time.time,
        api_version: str = API_VERSION,
    ) -> None:
        self.api_key = api_key
        self.host = host
        self._requested_port = port
        self.fixtures = Fixtures.load(fixtures_path)
        self._base_clock = clock
        self._clock_offset = 0.0
        self.webhooks = WebhookDispatcher(
            webhook_url, webhook_secret, mode=webhook_mode, timeout=webhook_timeout, clock=self.now
        )
        self.state = StripeState(
            self.fixtures,
            initial_balance=balance,
            clock=self.now,
            webhook_endpoints=self.webhooks.endpoint_count,
            api_version=api_version,
        )
        self._lock = threading.RLock()
        self._faults: list[Fault] = []
        self._log: list[RequestRecord] = []
        self._idempotency: dict[tuple[str, str, str], _IdempotencyEntry] = {}
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------- lifecycle
    def start(self) -> StripeTestServer:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = _HTTPServer((self.host, self._requested_port), self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="stripe-test-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes requests sleeping in an injected delay
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.webhooks.stop()

    def __enter__(self) -> StripeTestServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("StripeTestServer is not started")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def reset(self) -> None:
        """Forget all objects, events, faults, logs, idempotency keys, held webhooks."""
        self.webhooks.reset()
        self.state.reset()
        with self._lock:
            self._faults.clear()
            self._log.clear()
            self._idempotency.clear()

    # ------------------------------------------------------------------ clock
    def now(self) -> float:
        """This server's time, Unix seconds (the clock it was given, plus any advance)."""
        return self._base_clock() + self._clock_offset

    def advance_clock(self, seconds: float) -> float:
        """Test control: move this server's clock forward by ``seconds``; returns the new time.
        Idempotency keys older than 24 hours by this clock are forgotten, as on Stripe."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._clock_offset += seconds
        return self.now()

    # ---------------------------------------------------------- state access
    def set_balance(self, currency: str, amount: int) -> None:
        """Set the platform's available balance for ``currency`` (minor units)."""
        self.state.set_balance(currency, amount)

    def balance(self, currency: str = "usd") -> int:
        with self.state.lock:
            return self.state.balance.get(currency.lower(), 0)

    def connected_balance(self, account: str, currency: str = "usd") -> int:
        with self.state.lock:
            return self.state.connected_balances.get(account, {}).get(currency.lower(), 0)

    def accounts(self) -> list[JSON]:
        """All connected accounts, oldest first (deep copies)."""
        with self.state.lock:
            return copy.deepcopy(list(self.state.accounts.values()))

    def account(self, account_id: str) -> JSON:
        with self.state.lock:
            return copy.deepcopy(self.state.accounts[account_id])

    def transfers(
        self, *, destination: str | None = None, transfer_group: str | None = None
    ) -> list[JSON]:
        """All transfers, oldest first, optionally filtered."""
        with self.state.lock:
            return copy.deepcopy(
                [
                    t
                    for t in self.state.transfers.values()
                    if (destination is None or t["destination"] == destination)
                    and (transfer_group is None or t["transfer_group"] == transfer_group)
                ]
            )

    def transfer(self, transfer_id: str) -> JSON:
        with self.state.lock:
            return copy.deepcopy(self.state.transfers[transfer_id])

    def reversals(self, transfer_id: str | None = None) -> list[JSON]:
        with self.state.lock:
            return copy.deepcopy(
                [
                    r
                    for r in self.state.reversals.values()
                    if transfer_id is None or r["transfer"] == transfer_id
                ]
            )

    def events(self, type: str | None = None) -> list[JSON]:
        """All events, oldest first, optionally of one type."""
        with self.state.lock:
            return copy.deepcopy(
                [e for e in self.state.events.values() if type is None or e["type"] == type]
            )

    def complete_onboarding(self, account_id: str) -> JSON:
        """Finish hosted onboarding: details_submitted/charges/payouts enabled, capabilities
        active, nothing currently due; emits ``account.updated`` (+ ``capability.updated``)."""
        account, events = self._locked(lambda: self.state.complete_onboarding(account_id))
        self.webhooks.dispatch(events)
        return account

    # --------------------------------------------------------------- faults
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

    # ------------------------------------------------------------ request log
    def requests(
        self,
        method: str | None = None,
        path: str | None = None,
        *,
        path_prefix: str | None = None,
        status: int | None = None,
    ) -> list[RequestRecord]:
        """Logged /v1 requests, oldest first, filtered by method/exact path/prefix/status."""
        with self._lock:
            return [
                r
                for r in self._log
                if (method is None or r.method == method.upper())
                and (path is None or r.path == path)
                and (path_prefix is None or r.path.startswith(path_prefix))
                and (status is None or r.status == status)
            ]

    def clear_requests(self) -> None:
        with self._lock:
            self._log.clear()

    # --------------------------------------------------------------- webhooks
    def set_webhook(
        self, url: str | None, secret: str | None = None, *, mode: WebhookMode | None = None
    ) -> None:
        self.webhooks.configure(url, secret, mode)

    @property
    def webhook_secret(self) -> str:
        return self.webhooks.secret

    def hold_webhooks(self) -> None:
        """Queue events instead of delivering them, until :meth:`release_webhooks`."""
        self.webhooks.hold(True)

    def release_webhooks(self, *, reverse: bool = False) -> int:
        """Deliver held events, in reverse order with ``reverse=True`` (out-of-order delivery)."""
        return self.webhooks.release(reverse=reverse)

    def duplicate_webhooks(self, times: int = 2) -> None:
        """Deliver every following event ``times`` times (``1`` restores normal delivery)."""
        self.webhooks.duplicate(times)

    def resend_event(self, event_id: str, *, times: int = 1) -> None:
        """Deliver an already-created event again (a duplicate delivery)."""
        with self.state.lock:
            event = copy.deepcopy(self.state.events[event_id])
        self.webhooks.resend(event, times)

    def webhook_deliveries(self) -> list[WebhookDelivery]:
        return self.webhooks.deliveries()

    def wait_for_webhooks(self, timeout: float = 10.0) -> bool:
        """Block until background deliveries are done."""
        return self.webhooks.wait_idle(timeout)

    # ------------------------------------------------------------------- HTTP
    def _locked(self, fn: Callable[[], T]) -> tuple[T, list[JSON]]:
        """Run ``fn`` under the state lock and collect exactly the events it created."""
        with self.state.lock:
            self.state.drain_events()
            try:
                return fn(), self.state.drain_events()
            except BaseException:
                self.state.drain_events()
                raise

    def _handle(self, h: _Handler, method: str) -> None:
        try:
            split = urlsplit(h.path)
            length = int(h.headers.get("Content-Length") or 0)
            body = h.rfile.read(length) if length > 0 else b""
            path = split.path.rstrip("/") or "/"
            if path.startswith("/v1/") or path == "/v1":
                self._handle_api(h, method, path, split.query, body)
            elif path.startswith("/_test/"):
                self._handle_control(h, method, path, split.query, body)
            elif path.startswith("/connect/onboarding/"):
                self._handle_onboarding(h, path, split.query, body)
            else:
                self._send(
                    h,
                    404,
                    _encode(
                        error_body(
                            f"Unrecognized request URL ({method}: {path}). Please see "
                            "https://stripe.com/docs or we can help at https://support.stripe.com/."
                        )
                    ),
                )
        except (BrokenPipeError, ConnectionResetError):
            h.close_connection = True

    def _send(
        self,
        h: _Handler,
        status: int,
        body: bytes,
        headers: Mapping[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        try:
            h.send_response(status)
            h.send_header("Content-Type", content_type)
            h.send_header("Content-Length", str(len(body)))
            h.send_header("Cache-Control", "no-cache, no-store")
            for name, value in (headers or {}).items():
                h.send_header(name, value)
            h.end_headers()
            h.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError, OSError):
            h.close_connection = True  # the client gave up (e.g. timed out during a delay)

    @staticmethod
    def _drop(h: _Handler) -> None:
        h.close_connection = True
        with contextlib.suppress(OSError):
            h.connection.shutdown(socket.SHUT_RDWR)

    def _sleep(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    def _authenticate(self, header: str | None) -> tuple[str | None, JSON | None]:
        if not header:
            return None, error_body(
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, "
                "or we can help at https://support.stripe.com/."
            )
        scheme, _, value = header.strip().partition(" ")
        key = ""
        if scheme.lower() == "bearer":
            key = value.strip()
        elif scheme.lower() == "basic":
            try:
                key = b64decode(value.strip()).decode("utf-8").partition(":")[0]
            except (binascii.Error, UnicodeDecodeError):
                key = ""
        if not key:
            return None, error_body(
                "Invalid API Key provided. Use Bearer auth: 'Authorization: Bearer YOUR_SECRET_KEY'."
            )
        valid = key == self.api_key if self.api_key else key.startswith(("sk_test_", "rk_test_"))
        if not valid:
            return None, error_body(f"Invalid API Key provided: {_redact(key)}")
        return key, None

    def _record(
        self,
        *,
        method: str,
        path: str,
        params: JSON,
        idempotency_key: str | None,
        status: int | None,
        request_id: str,
        api_key: str | None,
        stripe_account: str | None,
        body: bytes | None,
        replayed: bool = False,
        fault: str | None = None,
    ) -> None:
        response: Any = None
        if body:
            try:
                response = json.loads(body)
            except ValueError:
                response = None
        record = RequestRecord(
            method=method,
            path=path,
            params=params,
            idempotency_key=idempotency_key,
            status=status,
            request_id=request_id,
            api_key=api_key,
            stripe_account=stripe_account,
            replayed=replayed,
            fault=fault,
            response=response,
            time=time.time(),
        )
        with self._lock:
            self._log.append(record)

    def _handle_api(self, h: _Handler, method: str, path: str, query: str, body: bytes) -> None:
        request_id = new_id("req", 14)
        idem_key = h.headers.get("Idempotency-Key") if method == "POST" else None
        stripe_account = h.headers.get("Stripe-Account") or None
        headers = {
            "Request-Id": request_id,
            "Stripe-Version": h.headers.get("Stripe-Version") or self.state.api_version,
        }
        if idem_key:
            headers["Idempotency-Key"] = idem_key
        params: JSON = {}
        api_key: str | None = None

        def finish(
            status: int,
            payload: bytes,
            *,
            extra: Mapping[str, str] | None = None,
            replayed: bool = False,
            fault: str | None = None,
        ) -> None:
            self._record(
                method=method,
                path=path,
                params=params,
                idempotency_key=idem_key,
                status=status,
                request_id=request_id,
                api_key=api_key,
                stripe_account=stripe_account,
                body=payload,
                replayed=replayed,
                fault=fault,
            )
            self._send(h, status, payload, {**headers, **(extra or {})})

        api_key, auth_error = self._authenticate(h.headers.get("Authorization"))
        if auth_error is not None:
            finish(401, _encode(auth_error))
            return
        try:
            pairs = parse_qsl(query, keep_blank_values=True)
            if method == "POST":
                pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True) + pairs
            params = parse_pairs(pairs)
        except (StripeError, UnicodeDecodeError) as exc:
            err = exc if isinstance(exc, StripeError) else StripeError(400, "Invalid request body")
            finish(err.status, _encode(err.body()))
            return

        fault = self._take_fault(method, path)
        scope = (api_key or "", stripe_account or "", idem_key or "")
        fingerprint = json.dumps(params, sort_keys=True)

        if fault is not None and not fault.after_apply and fault.kind != "delay":
            if fault.kind == "drop":
                self._record(
                    method=method,
                    path=path,
                    params=params,
                    idempotency_key=idem_key,
                    status=None,
                    request_id=request_id,
                    api_key=api_key,
                    stripe_account=stripe_account,
                    body=None,
                    fault="drop",
                )
                self._drop(h)
                return
            payload = _encode(fault.body)
            if fault.store and idem_key:
                with self._lock:
                    self._idempotency.setdefault(
                        scope,
                        _IdempotencyEntry(
                            method,
                            path,
                            fingerprint,
                            self.now(),
                            fault.status,
                            payload,
                            request_id,
                        ),
                    )
            finish(fault.status, payload, fault="error")
            return

        entry: _IdempotencyEntry | None = None
        if idem_key:
            with self._lock:
                now = self.now()
                existing = self._idempotency.get(scope)
                if existing is not None and now - existing.created >= IDEMPOTENCY_TTL:
                    existing = None  # pruned: this request runs as if the key were new
                if existing is None:
                    entry = _IdempotencyEntry(method, path, fingerprint, now)
                    self._idempotency[scope] = entry
            if existing is not None:
                conflict = self._idempotency_conflict(existing, method, path, fingerprint, idem_key)
                if conflict is not None:
                    finish(conflict.status, _encode(conflict.body()))
                    return
                finish(
                    int(existing.status or 200),
                    existing.body,
                    extra={"Idempotent-Replayed": "true", "Original-Request": existing.request_id},
                    replayed=True,
                )
                return

        if fault is not None and fault.kind == "delay" and not fault.after_apply:
            self._sleep(fault.seconds)

        ctx = RequestContext(
            request_id=request_id,
            idempotency_key=idem_key,
            base_url=self.base_url,
            stripe_account=stripe_account,
        )
        stored = True
        events: list[JSON] = []
        try:
            result, events = self._locked(lambda: self.state.handle(method, path, params, ctx))
            status, payload = 200, _encode(result)
        except StripeError as exc:
            status, payload, stored = exc.status, _encode(exc.body()), exc.stored
        except Exception as exc:  # a bug in this fake: answer like Stripe would
            traceback.print_exc()
            status, stored = 500, False
            payload = _encode(error_body(f"Stripe test server error: {exc!r}", type="api_error"))

        if entry is not None:
            with self._lock:
                if stored:
                    entry.status, entry.body, entry.request_id = status, payload, request_id
                else:
                    self._idempotency.pop(scope, None)

        self.webhooks.dispatch(events)

        if fault is not None and fault.after_apply:
            if fault.kind == "delay":
                self._sleep(fault.seconds)
                finish(status, payload, fault="delay")
            elif fault.kind == "drop":
                self._record(
                    method=method,
                    path=path,
                    params=params,
                    idempotency_key=idem_key,
                    status=None,
                    request_id=request_id,
                    api_key=api_key,
                    stripe_account=stripe_account,
                    body=payload,
                    fault="drop",
                )
                self._drop(h)
            else:
                finish(fault.status, _encode(fault.body), fault="error")
            return
        finish(status, payload, fault="delay" if fault is not None else None)

    @staticmethod
    def _idempotency_conflict(
        entry: _IdempotencyEntry, method: str, path: str, fingerprint: str, key: str
    ) -> StripeError | None:
        if (entry.method, entry.path) != (method, path):
            return StripeError(
                400,
                "Keys for idempotent requests can only be used for the same endpoint they were "
                f"first used for ('{entry.method} {entry.path}' vs '{method} {path}'). Try using a "
                f"key other than '{key}' if you meant to execute a different request.",
                type="idempotency_error",
                stored=False,
            )
        if entry.fingerprint != fingerprint:
            return StripeError(
                400,
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{key}' if you meant to "
                "execute a different request.",
                type="idempotency_error",
                stored=False,
            )
        if entry.status is None:
            return StripeError(
                409,
                "There is currently another in-progress request using this Idempotent Key "
                "(that probably means you submitted twice, and the other request is still going "
                f"through): '{key}'. Please try again later.",
                code="idempotency_key_in_use",
                stored=False,
            )
        return None

    # ------------------------------------------------------ hosted onboarding
    def _handle_onboarding(self, h: _Handler, path: str, query: str, body: bytes) -> None:
        account = path.rsplit("/", 1)[-1]
        args = parse_qs(query) | parse_qs(body.decode("utf-8", "replace"))
        token = (args.get("link") or [""])[0]
        complete = _as_bool((args.get("complete") or ["0"])[0])
        with self.state.lock:
            link = self.state.links.get(token)
            valid = (
                link is not None
                and link.account == account
                and not link.completed
                and self.state.now() <= link.expires_at
                and (complete or not link.visited)
            )
            if valid and link is not None:
                if complete:
                    link.completed = True
                else:
                    link.visited = True
        if not valid or link is None:
            if link is not None and link.refresh_url:
                self._send(h, 302, b"", {"Location": link.refresh_url}, "text/html")
            else:
                self._send(
                    h,
                    404,
                    b"<!doctype html><title>Link expired</title><p>This onboarding link is "
                    b"invalid, expired or was already used.</p>\n",
                    content_type="text/html; charset=utf-8",
                )
            return
        if complete:
            self.complete_onboarding(account)
            if link.return_url:
                self._send(h, 302, b"", {"Location": link.return_url}, "text/html")
            else:
                self._send(
                    h,
                    200,
                    b"<!doctype html><title>Onboarding complete</title><p>Onboarding complete.</p>\n",
                    content_type="text/html; charset=utf-8",
                )
            return
        action = escape(f"/connect/onboarding/{account}")
        leave = (
            f'<p><a id="return" href="{escape(link.return_url)}">Return without finishing</a></p>'
            if link.return_url
            else ""
        )
        page = (
            "<!doctype html><html><head><title>Stripe test onboarding</title></head><body>"
            f"<h1>Onboarding for {escape(account)}</h1>"
            "<p>Stripe test server: hosted Connect onboarding stand-in.</p>"
            f'<form method="post" action="{action}">'
            f'<input type="hidden" name="link" value="{escape(token)}">'
            '<input type="hidden" name="complete" value="1">'
            '<button id="complete-onboarding" type="submit">Complete onboarding</button>'
            f"</form>{leave}</body></html>\n"
        )
        self._send(h, 200, page.encode("utf-8"), content_type="text/html; charset=utf-8")

    # ---------------------------------------------------------- control HTTP
    def _handle_control(self, h: _Handler, method: str, path: str, query: str, body: bytes) -> None:
        try:
            data = self._control_args(query, body)
            status, result = self._control(method, path, data)
        except StripeError as exc:
            status, result = exc.status, exc.body()
        except (KeyError, ValueError, TypeError) as exc:
            status, result = 400, error_body(f"Bad control request: {exc!r}")
        self._send(h, status, _encode(result))

    @staticmethod
    def _control_args(query: str, body: bytes) -> JSON:
        data: JSON = parse_pairs(parse_qsl(query, keep_blank_values=True))
        text = body.decode("utf-8").strip()
        if text.startswith("{"):
            loaded = json.loads(text)
            if not isinstance(loaded, dict):
                raise ValueError("JSON body must be an object")
            data.update(loaded)
        elif text:
            data.update(parse_pairs(parse_qsl(text, keep_blank_values=True)))
        return data

    def _control(self, method: str, path: str, data: JSON) -> tuple[int, Any]:
        parts = path.strip("/").split("/")[1:]  # drop "_test"
        route = (method, "/".join(parts))
        if route == ("POST", "reset"):
            self.reset()
            return 200, {"ok": True}
        if route == ("GET", "state"):
            return 200, {
                "balance": self.state.balance_object(),
                "accounts": self.accounts(),
                "transfers": self.transfers(),
                "reversals": self.reversals(),
                "events": self.events(),
            }
        if route == ("GET", "clock"):
            return 200, {"now": self.now()}
        if route == ("POST", "clock"):
            return 200, {"now": self.advance_clock(float(data["advance"]))}
        if route == ("GET", "balance"):
            return 200, self.state.balance_object(data.get("account"))
        if route == ("POST", "balance"):
            self.set_balance(str(data.get("currency", "usd")), int(data["amount"]))
            return 200, self.state.balance_object()
        if (
            route[0] == "POST"
            and len(parts) == 3
            and parts[::2] == ["accounts", "complete_onboarding"]
        ):
            return 200, self.complete_onboarding(parts[1])
        if route == ("GET", "faults"):
            return 200, [asdict(f) for f in self.faults()]
        if route == ("DELETE", "faults"):
            self.clear_faults()
            return 200, {"ok": True}
        if route == ("POST", "faults"):
            return 200, asdict(self._fault_from_args(data))
        if route == ("GET", "requests"):
            return 200, [asdict(r) for r in self.requests()]
        if route == ("DELETE", "requests"):
            self.clear_requests()
            return 200, {"ok": True}
        if route == ("POST", "webhook"):
            mode = data.get("mode")
            if mode not in (None, "sync", "background"):
                raise ValueError("mode must be sync or background")
            self.set_webhook(data.get("url") or None, data.get("secret"), mode=mode)
            return 200, {"url": self.webhooks.url, "mode": self.webhooks.mode}
        if route == ("POST", "webhooks/hold"):
            self.hold_webhooks()
            return 200, {"ok": True}
        if route == ("POST", "webhooks/release"):
            return 200, {"released": self.release_webhooks(reverse=_as_bool(data.get("reverse")))}
        if route == ("POST", "webhooks/duplicate"):
            self.duplicate_webhooks(int(data.get("times", 2)))
            return 200, {"ok": True}
        if route == ("GET", "webhooks/deliveries"):
            return 200, [asdict(d) for d in self.webhook_deliveries()]
        if method == "POST" and len(parts) == 3 and parts[0] == "events" and parts[2] == "resend":
            self.resend_event(parts[1], times=int(data.get("times", 1)))
            return 200, {"ok": True}
        return 404, error_body(f"Unknown control endpoint ({method}: {path}).")

    def _fault_from_args(self, data: JSON) -> Fault:
        kind = str(data.get("kind", "error"))
        method = str(data.get("method", "*"))
        path = str(data.get("path", "/v1/"))
        times = int(data.get("times", 1))
        after_apply = _as_bool(data.get("after_apply"))
        exact = _as_bool(data.get("exact"))
        if kind == "error":
            return self.fail_next(
                method,
                path,
                status=int(data.get("status", 500)),
                times=times,
                type=data.get("type"),
                code=data.get("code"),
                message=data.get("message"),
                param=data.get("param"),
                after_apply=after_apply,
                store=_as_bool(data.get("store")),
                exact=exact,
            )
        if kind == "drop":
            return self.drop_next(method, path, times=times, after_apply=after_apply, exact=exact)
        if kind == "delay":
            return self.delay_next(
                method,
                path,
                seconds=float(data.get("seconds", 1)),
                times=times,
                after_apply=after_apply,
                exact=exact,
            )
        raise ValueError("kind must be error, drop or delay")


__all__ = [
    "Fault",
    "RequestRecord",
    "StripeTestServer",
    "WebhookDelivery",
    "fault_error_body",
]
