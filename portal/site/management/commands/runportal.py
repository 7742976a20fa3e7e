from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Serve the portal and run a background worker beside it (what `make run` starts)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", default=os.environ.get("PORT", "8000"))

    def handle(self, *args: Any, **options: Any) -> None:
        worker_process: subprocess.Popen[bytes] | None = None
        if settings.BROKER_KIND == "embedded":
            from portal.jobs.embedded import start_embedded_worker

            start_embedded_worker()
            self.stdout.write("Embedded worker started (BROKER_URL unset).")
        else:
            worker_process = subprocess.Popen(
                [sys.executable, "manage.py", "rundramatiq", "--processes", "1", "--threads", "2"],
                cwd=settings.BASE_DIR,
            )
            self.stdout.write(
                f"Worker started on {settings.BROKER_KIND} (pid {worker_process.pid})."
            )
        try:
            # No autoreloader: it would fork a second server process without the worker.
            call_command("runserver", f"{options['host']}:{options['port']}", use_reloader=False)
        finally:
            if worker_process is not None:
                worker_process.terminate()
                worker_process.wait(timeout=15)
