from __future__ import annotations

import importlib
import logging
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser, OutputWrapper

# Each domain seeds its part of the demo through its own services, in dependency order. A
# module that does not exist yet is skipped, so the demo grows as the domains land.
SEEDERS = [
    "portal.accounts.demo",
    "portal.clients.demo",
    "portal.stems.demo",
    "portal.review.demo",
    "portal.mixes.demo",
    "portal.royalties.demo",
    "portal.payouts.demo",
]


class Command(BaseCommand):
    help = "Seed the demo (idempotent): users for each role and, per domain, its demo data."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--log",
            type=Path,
            help="Write what each domain seeded (and the demo's e-mail lines) to this file and "
            "print one line when done; `make run` uses it to keep the console to its steps.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        log_path: Path | None = options["log"]
        if log_path is None:
            self._seed(self.stdout)
            return
        started = time.monotonic()
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("w", encoding="utf-8") as log_file:
            # The demo's own notices (approvals, credits) are part of what was seeded: their
            # one-line mail records go to the file too, not between the steps of `make run`.
            mail_logger = logging.getLogger("portal.mail")
            handler = logging.StreamHandler(log_file)
            mail_logger.addHandler(handler)
            mail_logger.propagate = False
            try:
                self._seed(OutputWrapper(log_file))  # adds the newline per write
            finally:
                mail_logger.removeHandler(handler)
                mail_logger.propagate = True
        self.stdout.write(f"  demo seeded in {time.monotonic() - started:.1f} s")

    def _seed(self, out: OutputWrapper) -> None:
        for module_path in SEEDERS:
            try:
                module = importlib.import_module(module_path)
            except ModuleNotFoundError as exc:
                if exc.name == module_path:
                    continue
                raise
            module.seed(out=out)
