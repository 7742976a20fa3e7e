"""The HTTP request handler: routing by path, body parsing, API key auth, Idempotency-Key
replays, injected faults, the request log. The objects and their endpoints are in ``api.py``;
the server's shared state (faults, log, clock, webhooks) is the :class:`StripeTestServer`.
"""

from __future__ import annotations

import binascii
import contextlib
import json
import socket
import time
import traceback
from base64 import b64decode
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from . import idempotency
from .api import RequestContext, new_id
from .control import handle_control
from .onboarding import handle_onboarding
from .params import StripeError, encode, error_body, parse_pairs

if TYPE_CHECKING:
    from .server import StripeTestServer

JSON = dict[str, Any]


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


def _redact(key: str) -> str:
    prefix = key[: key.find("_", key.find("_") + 1) + 1] if key.count("_") >= 2 else ""
    return f"{prefix}{'*' * max(0, len(key) - len(prefix) - 4)}{key[-4:]}"


def authenticate(header: str | None, api_key: str | None) -> tuple[str | None, JSON | None]:
    """(the secret key, None), or (None, Stripe's 401 error body). ``api_key`` None accepts any
    test key."""
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
    valid = key == api_key if api_key else key.startswith(("sk_test_", "rk_test_"))
    if not valid:
        return None, error_body(f"Invalid API Key provided: {_redact(key)}")
    return key, None


class StripeHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: StripeTestServer) -> None:
        self.app = app
        super().__init__(address, RequestHandler)


class RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "stripe-test-server"
    sys_version = ""
    timeout = 120
    # Keep-alive plus Nagle's algorithm stalls each small response ~40 ms behind the client's
    # delayed ACK; Stripe's servers answer at once, and so must this one.
    disable_nagle_algorithm = True
    server: StripeHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: use StripeTestServer.requests() instead."""

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    @property
    def app(self) -> StripeTestServer:
        return self.server.app

    def _dispatch(self, method: str) -> None:
        try:
            split = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length > 0 else b""
            path = split.path.rstrip("/") or "/"
            if path.startswith("/v1/") or path == "/v1":
                self._handle_api(method, path, split.query, body)
            elif path.startswith("/_test/"):
                handle_control(self, method, path, split.query, body)
            elif path.startswith("/connect/onboarding/"):
                handle_onboarding(self, path, split.query, body)
            else:
                self.reply(
                    404,
                    encode(
                        error_body(
                            f"Unrecognized request URL ({method}: {path}). Please see "
                            "https://stripe.com/docs or we can help at https://support.stripe.com/."
                        )
                    ),
                )
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def reply(
        self,
        status: int,
        body: bytes,
        headers: Mapping[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-cache, no-store")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True  # the client gave up (e.g. timed out during a delay)

    def drop(self) -> None:
        """Close the connection without answering."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

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
        self.app._log_request(
            RequestRecord(
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
        )

    def _handle_api(self, method: str, path: str, query: str, body: bytes) -> None:
        app = self.app
        request_id = new_id("req", 14)
        idem_key = self.headers.get("Idempotency-Key") if method == "POST" else None
        stripe_account = self.headers.get("Stripe-Account") or None
        headers = {
            "Request-Id": request_id,
            "Stripe-Version": self.headers.get("Stripe-Version") or app.state.api_version,
        }
        if idem_key:
            headers["Idempotency-Key"] = idem_key
        params: JSON = {}
        api_key: str | None = None

        def record(
            status: int | None, payload: bytes | None, *, replayed: bool, fault: str | None
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

        def finish(
            status: int,
            payload: bytes,
            *,
            extra: Mapping[str, str] | None = None,
            replayed: bool = False,
            fault: str | None = None,
        ) -> None:
            record(status, payload, replayed=replayed, fault=fault)
            self.reply(status, payload, {**headers, **(extra or {})})

        def dropped(payload: bytes | None) -> None:
            """Record the request as dropped (with what it would have answered, if anything)
            and close the connection without an answer."""
            record(None, payload, replayed=False, fault="drop")
            self.drop()

        api_key, auth_error = authenticate(self.headers.get("Authorization"), app.api_key)
        if auth_error is not None:
            finish(401, encode(auth_error))
            return
        try:
            pairs = parse_qsl(query, keep_blank_values=True)
            if method == "POST":
                pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True) + pairs
            params = parse_pairs(pairs)
        except (StripeError, UnicodeDecodeError) as exc:
            err = exc if isinstance(exc, StripeError) else StripeError(400, "Invalid request body")
            finish(err.status, encode(err.body()))
            return

        fault = app._take_fault(method, path)
        scope = (api_key or "", stripe_account or "", idem_key or "")
        fingerprint = json.dumps(params, sort_keys=True)

        if fault is not None and not fault.after_apply and fault.kind != "delay":
            if fault.kind == "drop":
                dropped(None)
                return
            payload = encode(fault.body)
            if fault.store and idem_key:
                app.idempotency.save_injected(
                    scope,
                    method,
                    path,
                    fingerprint,
                    status=fault.status,
                    body=payload,
                    request_id=request_id,
                )
            finish(fault.status, payload, fault="error")
            return

        entry: idempotency.IdempotencyEntry | None = None
        if idem_key:
            entry, new = app.idempotency.claim(scope, method, path, fingerprint)
            if not new:
                conflict = idempotency.conflict(entry, method, path, fingerprint, idem_key)
                if conflict is not None:
                    finish(conflict.status, encode(conflict.body()))
                    return
                finish(
                    int(entry.status or 200),
                    entry.body,
                    extra={"Idempotent-Replayed": "true", "Original-Request": entry.request_id},
                    replayed=True,
                )
                return

        if fault is not None and fault.kind == "delay" and not fault.after_apply:
            app._sleep(fault.seconds)

        ctx = RequestContext(
            request_id=request_id,
            idempotency_key=idem_key,
            base_url=app.base_url,
            stripe_account=stripe_account,
        )
        stored = True
        events: list[JSON] = []
        try:
            result, events = app._locked(lambda: app.state.handle(method, path, params, ctx))
            status, payload = 200, encode(result)
        except StripeError as exc:
            status, payload, stored = exc.status, encode(exc.body()), exc.stored
        except Exception as exc:  # a bug in this fake: answer like Stripe would
            traceback.print_exc()
            status, stored = 500, False
            payload = encode(error_body(f"Stripe test server error: {exc!r}", type="api_error"))

        if entry is not None:
            app.idempotency.settle(
                scope, entry, stored=stored, status=status, body=payload, request_id=request_id
            )

        if method != "GET":
            app._persist()
        app.webhooks.dispatch(events)

        if fault is not None and fault.after_apply:
            if fault.kind == "delay":
                app._sleep(fault.seconds)
                finish(status, payload, fault="delay")
            elif fault.kind == "drop":
                dropped(payload)
            else:
                finish(fault.status, encode(fault.body), fault="error")
            return
        finish(status, payload, fault="delay" if fault is not None else None)
