from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from portal.catalogue.selectors import catalogue_base
from portal.catalogue.services.previews import previews_request


class Command(BaseCommand):
    help = (
        "Queue a preview job for every catalogue stem without a preview (stems approved before "
        "previews existed; new ones get theirs when they enter the vault)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        queued = previews_request(
            stems=catalogue_base().select_related(None).only("pk", "status").iterator()
        )
        self.stdout.write(f"catalogue: queued {queued} preview job(s)")
