"""Local Stripe-compatible HTTP server for tests and the demo (standard library only, no Django).

Usage::

    from stripe_server import StripeTestServer

    with StripeTestServer(api_key="sk_test_123") as server:
        client = stripe.StripeClient(
            "sk_test_123", base_addresses={"api": server.base_url}, max_network_retries=0
        )
"""

from __future__ import annotations

from .faults import Fault, fault_error_body
from .fixtures import Fixtures, default_fixtures_path
from .handler import RequestRecord
from .params import StripeError
from .server import StripeTestServer
from .webhooks import WebhookDelivery, event_payload, sign_payload

__all__ = [
    "Fault",
    "Fixtures",
    "RequestRecord",
    "StripeError",
    "StripeTestServer",
    "WebhookDelivery",
    "default_fixtures_path",
    "event_payload",
    "fault_error_body",
    "sign_payload",
]
