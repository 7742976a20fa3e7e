from __future__ import annotations

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = (
        "Run a background worker: the embedded one when BROKER_URL is unset, "
        "otherwise `rundramatiq` on the configured broker."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--threads", type=int, default=settings.EMBEDDED_WORKER_THREADS)

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.BROKER_KIND != "embedded":
            call_command("rundramatiq", processes=1, threads=options["threads"])
            return
        from portal.jobs.embedded import start_embedded_worker

        worker = start_embedded_worker(options["threads"])
        stopping = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stopping.set())
        signal.signal(signal.SIGINT, lambda *_: stopping.set())
        self.stdout.write("Embedded worker running; Ctrl-C stops it.")
        stopping.wait()
        worker.stop()
