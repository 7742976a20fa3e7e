from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import threading
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.payouts.local_stripe import LocalStripe, local_stripe_start

DEMO_LOGINS = (
    "Demo logins (password: stemvault-demo): ada, ben (artists), gus (client app developer), "
    "cora (curator), sam (staff)"
)


def wait_until_listening(host: str, port: int, *, timeout_s: float = 120.0) -> bool:
    """True once something accepts connections on host:port, False after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.1)
    return False


class Command(BaseCommand):
    help = "Serve the portal and run a background worker beside it (what `make run` starts)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--stripe-port",
            type=int,
            # A string default goes through `type` too: a bad value is argparse's clear error.
            default=os.environ.get("STRIPE_LOCAL_PORT") or None,
            help="Port of the local Stripe test server started without Stripe keys "
            "(default: --port + 1, or any free port if that one is taken)",
        )
        parser.add_argument(
            "--no-local-stripe",
            action="store_true",
            help="Do not start the local Stripe test server (payouts stay unconfigured)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = options["host"], options["port"]
        # Before the worker and the server: both read the Stripe settings it points at itself.
        local_stripe = None
        if not options["no_local_stripe"]:
            local_stripe = self._start_local_stripe(host, port, options["stripe_port"])
        worker_process: subprocess.Popen[bytes] | None = None
        if settings.BROKER_KIND == "embedded":
            from portal.jobs.embedded import start_embedded_worker

            start_embedded_worker()
        else:
            worker_process = subprocess.Popen(
                [sys.executable, "manage.py", "rundramatiq", "--processes", "1", "--threads", "2"],
                cwd=settings.BASE_DIR,
                env=os.environ | (local_stripe.env if local_stripe else {}),
            )
        # "ready" is said once the socket answers, not when the server is merely starting, so a
        # script (or a person) can act on the line. runserver's own banner is swallowed below.
        stripe_url = local_stripe.server.base_url if local_stripe else None
        announcer = threading.Thread(
            target=self._announce_when_ready,
            args=(host, port, stripe_url),
            name="ready-line",
            daemon=True,
        )
        announcer.start()
        try:
            # No autoreloader: it would fork a second server process without the worker.
            # Request lines and errors still reach the console through logging and stderr.
            call_command("runserver", f"{host}:{port}", use_reloader=False, stdout=io.StringIO())
        finally:
            if worker_process is not None:
                worker_process.terminate()
                worker_process.wait(timeout=15)
            if local_stripe is not None:
                local_stripe.stop()

    @staticmethod
    def _start_local_stripe(host: str, port: int, stripe_port: int | None) -> LocalStripe | None:
        """The demo's local Stripe test server, when no Stripe is configured (DEBUG only):
        its webhooks go to this portal's endpoint on the port it serves."""
        loopback = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
        try:
            return local_stripe_start(
                webhook_url=f"http://{loopback}:{port}/stripe/webhook/",
                port=port + 1 if stripe_port is None else stripe_port,
            )
        except (RuntimeError, ValueError, OSError) as exc:  # its state file in use or unreadable
            raise CommandError(f"The local Stripe test server did not start: {exc}") from exc

    def _announce_when_ready(self, host: str, port: int, stripe_url: str | None = None) -> None:
        if wait_until_listening(host, port):
            worker = "embedded worker" if settings.BROKER_KIND == "embedded" else "worker"
            self.stdout.write(f"ready at http://{host}:{port}/ ({worker} running)")
            self.stdout.write(f"  {DEMO_LOGINS}")
            if stripe_url:
                self.stdout.write(
                    f"  Payouts: the local Stripe test server at {stripe_url} (no real money); "
                    "ben can set up payouts on /payouts/"
                )
            self.stdout.flush()  # a pipe or a log file is block-buffered: say it now
        else:
            self.stderr.write(f"the server did not start listening on {host}:{port}")
            self.stderr.flush()
