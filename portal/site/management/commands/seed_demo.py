from __future__ import annotations

import importlib
from typing import Any

from django.core.management.base import BaseCommand

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

    def handle(self, *args: Any, **options: Any) -> None:
        for module_path in SEEDERS:
            try:
                module = importlib.import_module(module_path)
            except ModuleNotFoundError as exc:
                if exc.name == module_path:
                    continue
                raise
            module.seed(out=self.stdout)
