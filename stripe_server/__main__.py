"""Run the Stripe test server standalone: ``python -m stripe_server --port 12111``."""

from __future__ import annotations

import argparse
import sys
import threading

from .server import StripeTestServer


def _balance(value: str) -> tuple[str, int]:
    currency, _, amount = value.partition("=")
    if not currency or not amount.lstrip("-").isdigit():
        raise argparse.ArgumentTypeError("expected CURRENCY=AMOUNT, e.g. usd=1000000")
    return currency.lower(), int(amount)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stripe_server", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111, help="0 picks a free port")
    parser.add_argument(
        "--api-key", default=None, help="only accept this key (default: any sk_test_ key)"
    )
    parser.add_argument("--webhook-url", default=None)
    parser.add_argument("--webhook-secret", default="whsec_test")
    parser.add_argument(
        "--background-webhooks", action="store_true", help="deliver webhooks on a worker thread"
    )
    parser.add_argument(
        "--balance",
        type=_balance,
        action="append",
        default=[],
        metavar="CURRENCY=AMOUNT",
        help="initial available balance (repeatable), default usd=0",
    )
    parser.add_argument(
        "--state",
        default=None,
        metavar="FILE",
        help="keep the state in this JSON file across restarts (default: in memory only)",
    )
    args = parser.parse_args(argv)
    server = StripeTestServer(
        args.api_key,
        host=args.host,
        port=args.port,
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret,
        webhook_mode="background" if args.background_webhooks else "sync",
        balance=dict(args.balance) or None,
        state_path=args.state,
    )
    try:
        server.start()
    except (RuntimeError, ValueError, OSError) as exc:  # state file in use or unreadable, port
        print(f"python -m stripe_server: {exc}", file=sys.stderr)
        return 2
    print(f"Stripe test server listening on {server.base_url}", flush=True)
    print(f"fixtures: {server.fixtures.source}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
