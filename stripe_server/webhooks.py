"""Signed webhook delivery, as Stripe does it (``Stripe-Signature: t=...,v1=...``)."""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

JSON = dict[str, Any]
WebhookMode = Literal["sync", "background"]


def sign_payload(payload: str, secret: str, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header value for ``payload``: HMAC-SHA256 of ``f"{t}.{payload}"``."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    mac = hmac.new(secret.encode("utf-8"), f"{ts}.{payload}".encode(), hashlib.sha256)
    return f"t={ts},v1={mac.hexdigest()}"


def event_payload(event: JSON) -> str:
    """Stripe posts events as pretty-printed JSON."""
    return json.dumps(event, indent=2)


@dataclass(frozen=True)
class WebhookDelivery:
    event_id: str
    event_type: str
    url: str
    status: int | None  # HTTP status answered by the receiver, None if it could not be reached
    error: str | None
    delivered_at: float

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class WebhookDispatcher:
    """One webhook endpoint. Delivery is synchronous (before the API response is sent) by
    default, or in order on one background thread. Test helpers: hold/release (optionally
    reversed, for out-of-order delivery), duplicate delivery, resend."""

    def __init__(
        self,
        url: str | None,
        secret: str,
        *,
        mode: WebhookMode = "sync",
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self._clock = clock  # Stripe signs with its own time: the server's clock
        self.secret = secret
        self.mode: WebhookMode = mode
        self.timeout = timeout
        self._lock = threading.Lock()
        self._held: list[JSON] = []
        self._holding = False
        self._times = 1
        self._deliveries: list[WebhookDelivery] = []
        self._queue: queue.Queue[tuple[JSON, int] | None] = queue.Queue()
        self._worker: threading.Thread | None = None

    # ----------------------------------------------------------- configuration
    def configure(
        self, url: str | None, secret: str | None = None, mode: WebhookMode | None = None
    ) -> None:
        with self._lock:
            self.url = url
            if secret is not None:
                self.secret = secret
            if mode is not None:
                self.mode = mode

    def endpoint_count(self) -> int:
        return 1 if self.url else 0

    def hold(self, enabled: bool = True) -> None:
        with self._lock:
            self._holding = enabled

    def duplicate(self, times: int = 2) -> None:
        """Deliver every following event ``times`` times (1 restores normal delivery)."""
        with self._lock:
            self._times = max(1, int(times))

    def reset(self) -> None:
        self.wait_idle(5.0)
        with self._lock:
            self._held.clear()
            self._holding = False
            self._times = 1
            self._deliveries.clear()

    # ---------------------------------------------------------------- delivery
    def dispatch(self, events: list[JSON]) -> None:
        for event in events:
            with self._lock:
                if self._holding:
                    self._held.append(event)
                    continue
                times = self._times
            self._send(event, times)

    def held(self) -> list[JSON]:
        with self._lock:
            return list(self._held)

    def release(self, *, reverse: bool = False) -> int:
        """Stop holding and deliver the held events (in reverse order if asked)."""
        with self._lock:
            events, self._held = self._held, []
            self._holding = False
            times = self._times
        for event in reversed(events) if reverse else events:
            self._send(event, times)
        return len(events)

    def resend(self, event: JSON, times: int = 1) -> None:
        self._send(event, times)

    def _send(self, event: JSON, times: int) -> None:
        if self.mode == "background":
            self._ensure_worker()
            self._queue.put((event, times))
        else:
            for _ in range(times):
                self.deliver(event)

    def deliver(self, event: JSON) -> WebhookDelivery | None:
        """POST one event now. Returns None when no endpoint is configured."""
        with self._lock:
            url, secret = self.url, self.secret
        if not url:
            return None
        payload = event_payload(event)
        request = urllib.request.Request(
            url,
            data=payload.encode("utf-8"),
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": sign_payload(payload, secret, int(self._clock())),
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                "Cache-Control": "no-cache",
                "Accept": "*/*; q=0.5, application/xml",
            },
        )
        status: int | None = None
        error: str | None = None
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
                status = response.status
        except urllib.error.HTTPError as exc:
            status, error = exc.code, str(exc)
        except (OSError, ValueError) as exc:
            error = repr(exc)
        delivery = WebhookDelivery(
            event_id=str(event.get("id")),
            event_type=str(event.get("type")),
            url=url,
            status=status,
            error=error,
            delivered_at=time.time(),
        )
        with self._lock:
            self._deliveries.append(delivery)
        return delivery

    def deliveries(self) -> list[WebhookDelivery]:
        with self._lock:
            return list(self._deliveries)

    # --------------------------------------------------------- background mode
    def _ensure_worker(self) -> None:
        with self._lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(
                    target=self._run, name="stripe-test-webhooks", daemon=True
                )
                self._worker.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                event, times = item
                for _ in range(times):
                    self.deliver(event)
            finally:
                self._queue.task_done()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until background deliveries are done; True if the queue drained in time."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def stop(self) -> None:
        worker = self._worker
        if worker is not None and worker.is_alive():
            self._queue.put(None)
            worker.join(timeout=self.timeout + 1)
        self._worker = None
