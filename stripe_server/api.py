"""The /v1 API: in-memory Stripe state and the routes to its endpoint handlers (no HTTP here).

The handlers live in ``resources/``, one module per resource: they take parsed params (nested
dicts, string leaves, exactly as stripe-python form-encodes them), mutate the state and return a
JSON object or raise :class:`StripeError`. Every state change records an event
(``account.updated``, ``capability.updated``, ``transfer.created``, ``transfer.updated``,
``transfer.reversed``); the HTTP layer drains and delivers them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping

from .fixtures import Fixtures
from .params import StripeError, invalid
from .resources.accounts import Accounts
from .resources.balance import Balance
from .resources.events import Events
from .resources.transfers import Transfers
from .store import API_VERSION, JSON, RequestContext, new_id

Handler = Callable[..., JSON]


class StripeState(Accounts, Balance, Transfers, Events):
    """All objects of one fake Stripe platform account, and the /v1 routes to their handlers.
    Guard mutations with ``lock``."""

    def __init__(
        self,
        fixtures: Fixtures,
        *,
        initial_balance: Mapping[str, int] | None = None,
        clock: Callable[[], float] = time.time,
        webhook_endpoints: Callable[[], int] = lambda: 0,
        api_version: str = API_VERSION,
    ) -> None:
        super().__init__(
            fixtures,
            initial_balance=initial_balance,
            clock=clock,
            webhook_endpoints=webhook_endpoints,
            api_version=api_version,
        )
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = [
            ("POST", re.compile(r"/v1/accounts"), self.create_account),
            ("GET", re.compile(r"/v1/accounts"), self.list_accounts),
            ("GET", re.compile(r"/v1/accounts/(?P<account>[^/]+)"), self.retrieve_account),
            ("POST", re.compile(r"/v1/accounts/(?P<account>[^/]+)"), self.update_account),
            ("POST", re.compile(r"/v1/account_links"), self.create_account_link),
            ("GET", re.compile(r"/v1/balance"), self.retrieve_balance),
            ("POST", re.compile(r"/v1/transfers"), self.create_transfer),
            ("GET", re.compile(r"/v1/transfers"), self.list_transfers),
            ("GET", re.compile(r"/v1/transfers/(?P<transfer>[^/]+)"), self.retrieve_transfer),
            ("POST", re.compile(r"/v1/transfers/(?P<transfer>[^/]+)"), self.update_transfer),
            ("POST", re.compile(r"/v1/transfers/(?P<id>[^/]+)/reversals"), self.create_reversal),
            ("GET", re.compile(r"/v1/transfers/(?P<id>[^/]+)/reversals"), self.list_reversals),
            (
                "GET",
                re.compile(r"/v1/transfers/(?P<transfer>[^/]+)/reversals/(?P<id>[^/]+)"),
                self.retrieve_reversal,
            ),
            (
                "POST",
                re.compile(r"/v1/transfers/(?P<transfer>[^/]+)/reversals/(?P<id>[^/]+)"),
                self.update_reversal,
            ),
            ("GET", re.compile(r"/v1/events"), self.list_events),
            ("GET", re.compile(r"/v1/events/(?P<id>[^/]+)"), self.retrieve_event),
        ]

    # ---------------------------------------------------------------- routing
    def is_known_path(self, method: str, path: str) -> bool:
        return any(m == method and rx.fullmatch(path) for m, rx, _ in self._routes)

    def handle(self, method: str, path: str, params: JSON, ctx: RequestContext) -> JSON:
        for route_method, regex, handler in self._routes:
            match = regex.fullmatch(path)
            if route_method == method and match:
                if ctx.stripe_account and handler != self.retrieve_balance:
                    raise invalid(
                        "This Stripe test server supports the Stripe-Account header only on "
                        "GET /v1/balance.",
                        None,
                    )
                with self.lock:
                    return handler(ctx, params, **match.groupdict())
        raise StripeError(
            404,
            f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
            "or we can help at https://support.stripe.com/.",
            stored=False,
        )


__all__ = ["API_VERSION", "RequestContext", "StripeState", "new_id"]
