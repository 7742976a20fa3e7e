"""Test controls over HTTP under ``/_test/``: the same operations as the Python methods of
:class:`StripeTestServer`, for a client in another process (``python -m stripe_server``).

Arguments come as query string, form body or JSON body. Routes: ``POST reset``, ``GET state``,
``GET|POST clock``, ``GET|POST balance``, ``POST accounts/<id>/complete_onboarding``,
``GET|POST|DELETE faults``, ``GET|DELETE requests``, ``POST webhook``, ``POST webhooks/hold``,
``POST webhooks/release``, ``POST webhooks/duplicate``, ``GET webhooks/deliveries``,
``POST events/<id>/resend``.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from .faults import Fault
from .params import StripeError, encode, error_body, parse_pairs

if TYPE_CHECKING:
    from .handler import RequestHandler
    from .server import StripeTestServer

JSON = dict[str, Any]


def as_bool(value: Any, default: bool = False) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("1", "true", "yes", "on")


def handle_control(h: RequestHandler, method: str, path: str, query: str, body: bytes) -> None:
    try:
        data = _control_args(query, body)
        status, result = _control(h.app, method, path, data)
    except StripeError as exc:
        status, result = exc.status, exc.body()
    except (KeyError, ValueError, TypeError) as exc:
        status, result = 400, error_body(f"Bad control request: {exc!r}")
    h.reply(status, encode(result))


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


def _control(app: StripeTestServer, method: str, path: str, data: JSON) -> tuple[int, Any]:
    parts = path.strip("/").split("/")[1:]  # drop "_test"
    route = (method, "/".join(parts))
    if route == ("POST", "reset"):
        app.reset()
        return 200, {"ok": True}
    if route == ("GET", "state"):
        return 200, {
            "balance": app.state.balance_object(),
            "accounts": app.accounts(),
            "transfers": app.transfers(),
            "reversals": app.reversals(),
            "events": app.events(),
        }
    if route == ("GET", "clock"):
        return 200, {"now": app.now()}
    if route == ("POST", "clock"):
        return 200, {"now": app.advance_clock(float(data["advance"]))}
    if route == ("GET", "balance"):
        return 200, app.state.balance_object(data.get("account"))
    if route == ("POST", "balance"):
        app.set_balance(str(data.get("currency", "usd")), int(data["amount"]))
        return 200, app.state.balance_object()
    if route[0] == "POST" and len(parts) == 3 and parts[::2] == ["accounts", "complete_onboarding"]:
        return 200, app.complete_onboarding(parts[1])
    if route == ("GET", "faults"):
        return 200, [asdict(f) for f in app.faults()]
    if route == ("DELETE", "faults"):
        app.clear_faults()
        return 200, {"ok": True}
    if route == ("POST", "faults"):
        return 200, asdict(_fault_from_args(app, data))
    if route == ("GET", "requests"):
        return 200, [asdict(r) for r in app.requests()]
    if route == ("DELETE", "requests"):
        app.clear_requests()
        return 200, {"ok": True}
    if route == ("POST", "webhook"):
        mode = data.get("mode")
        if mode not in (None, "sync", "background"):
            raise ValueError("mode must be sync or background")
        app.set_webhook(data.get("url") or None, data.get("secret"), mode=mode)
        return 200, {"url": app.webhooks.url, "mode": app.webhooks.mode}
    if route == ("POST", "webhooks/hold"):
        app.hold_webhooks()
        return 200, {"ok": True}
    if route == ("POST", "webhooks/release"):
        return 200, {"released": app.release_webhooks(reverse=as_bool(data.get("reverse")))}
    if route == ("POST", "webhooks/duplicate"):
        app.duplicate_webhooks(int(data.get("times", 2)))
        return 200, {"ok": True}
    if route == ("GET", "webhooks/deliveries"):
        return 200, [asdict(d) for d in app.webhook_deliveries()]
    if method == "POST" and len(parts) == 3 and parts[0] == "events" and parts[2] == "resend":
        app.resend_event(parts[1], times=int(data.get("times", 1)))
        return 200, {"ok": True}
    return 404, error_body(f"Unknown control endpoint ({method}: {path}).")


def _fault_from_args(app: StripeTestServer, data: JSON) -> Fault:
    kind = str(data.get("kind", "error"))
    method = str(data.get("method", "*"))
    path = str(data.get("path", "/v1/"))
    times = int(data.get("times", 1))
    after_apply = as_bool(data.get("after_apply"))
    exact = as_bool(data.get("exact"))
    if kind == "error":
        return app.fail_next(
            method,
            path,
            status=int(data.get("status", 500)),
            times=times,
            type=data.get("type"),
            code=data.get("code"),
            message=data.get("message"),
            param=data.get("param"),
            after_apply=after_apply,
            store=as_bool(data.get("store")),
            exact=exact,
        )
    if kind == "drop":
        return app.drop_next(method, path, times=times, after_apply=after_apply, exact=exact)
    if kind == "delay":
        return app.delay_next(
            method,
            path,
            seconds=float(data.get("seconds", 1)),
            times=times,
            after_apply=after_apply,
            exact=exact,
        )
    raise ValueError("kind must be error, drop or delay")
