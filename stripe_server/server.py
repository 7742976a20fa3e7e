"""A local Stripe-compatible HTTP server for the tests, the demo and the benchmarks.

Start it from a test::

    with StripeTestServer(api_key="sk_test_123", webhook_url=None) as server:
        client = stripe.StripeClient(
            "sk_test_123", base_addresses={"api": server.base_url}, max_network_retries=0
        )

It speaks Stripe's wire protocol (form-encoded requests, JSON responses, Bearer auth,
``Idempotency-Key`` semantics, ``Stripe-Signature`` webhooks). Test controls are Python
methods on :class:`StripeTestServer` and the same operations over HTTP under ``/_test/``.

This module is the server's lifecycle (a thread serving HTTP), its clock and the test controls;
requests are handled in ``handler.py``, the objects and endpoints live in ``api.py`` and
``resources/``, faults are scheduled in ``faults.py``.
"""

from __future__ import annotations

import copy
import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from . import persist
from .api import API_VERSION, StripeState
from .faults import Fault, FaultInjection
from .fixtures import Fixtures
from .handler import RequestRecord, StripeHTTPServer
from .idempotency import IdempotencyKeys
from .webhooks import WebhookDelivery, WebhookDispatcher, WebhookMode

JSON = dict[str, Any]
T = TypeVar("T")


class StripeTestServer(FaultInjection):
    """Stripe-compatible server on 127.0.0.1 (port 0 = pick a free port).

    ``api_key``: the only accepted secret key; ``None`` accepts any ``sk_test_``/``rk_test_`` key.
    ``webhook_mode``: ``"sync"`` delivers each event before the API response that caused it is
    sent; ``"background"`` delivers in order on a worker thread (see :meth:`wait_for_webhooks`).
    ``balance``: initial available platform balance per currency (default ``{"usd": 0}``).
    ``clock``: the server's time source (Unix seconds) for ``created`` timestamps, webhook
    signatures and idempotency key expiry; :meth:`advance_clock` (or ``POST /_test/clock``)
    moves it forward. Both are test controls: Stripe's clock is nobody's to move.
    ``state_path``: a JSON file the state is loaded from when it exists and saved to after every
    change (``persist.py``), so a local demo keeps its accounts and transfers across restarts;
    ``None`` (the tests) keeps everything in memory. ``balance`` applies to a new file only; the
    file is read by :meth:`start`.
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
        state_path: str | os.PathLike[str] | None = None,
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
        self.idempotency = IdempotencyKeys(lock=self._lock, clock=self.now)
        self._stopping = threading.Event()
        self._httpd: StripeHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.state_path = Path(state_path) if state_path is not None else None
        self._persist_lock = threading.Lock()
        self._state_file_lock: persist.StateLock | None = None

    # ------------------------------------------------------------- lifecycle
    def start(self) -> StripeTestServer:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        if self.state_path is not None and self._state_file_lock is None:
            # One server per state file: a second would overwrite the first one's changes.
            self._state_file_lock = persist.StateLock(self.state_path)
        try:
            if self.state_path is not None:
                saved = persist.load(self.state_path)
                if saved is not None:
                    persist.restore(self, saved)
                else:
                    self._persist()  # a new file: its initial balance is part of its state
            self._httpd = StripeHTTPServer((self.host, self._requested_port), self)
        except BaseException:
            self._release_state_file()
            raise
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
        self._release_state_file()

    def _release_state_file(self) -> None:
        lock, self._state_file_lock = self._state_file_lock, None
        if lock is not None:
            lock.release()

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
            self.idempotency.clear()
        self._persist()

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
        self._persist()
        return self.now()

    # ---------------------------------------------------------- state access
    def set_balance(self, currency: str, amount: int) -> None:
        """Set the platform's available balance for ``currency`` (minor units)."""
        self.state.set_balance(currency, amount)
        self._persist()

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
        self._persist()
        self.webhooks.dispatch(events)
        return account

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

    # ------------------------------------------------- used by the request handler
    def _locked(self, fn: Callable[[], T]) -> tuple[T, list[JSON]]:
        """Run ``fn`` under the state lock and collect exactly the events it created."""
        with self.state.lock:
            self.state.drain_events()
            try:
                return fn(), self.state.drain_events()
            except BaseException:
                self.state.drain_events()
                raise

    def _persist(self) -> None:
        """Save the state to ``state_path`` (if any), before the change is answered. One save
        at a time, each a snapshot taken under the locks: the file never goes back in time."""
        if self.state_path is None:
            return
        with self._persist_lock:
            with self._lock, self.state.lock:
                text = persist.dumps(persist.snapshot(self))
            persist.save(self.state_path, text)

    def _sleep(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    def _log_request(self, record: RequestRecord) -> None:
        with self._lock:
            self._log.append(record)


__all__ = ["Fault", "RequestRecord", "StripeTestServer", "WebhookDelivery"]
