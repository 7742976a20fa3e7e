"""Rebuild every stored fingerprint in an older format, after an engine upgrade changed it."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from portal.stems.fingerprint_indexes import rebuild_stale_fingerprints
from renderer.fingerprint import FORMAT_VERSION


class Command(BaseCommand):
    help = (
        "Recompute, from their audio, the stem and render fingerprints stored in a format other "
        "than this engine's (the indexes would otherwise rebuild them one by one as they load)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        rebuilt = rebuild_stale_fingerprints()
        self.stdout.write(
            f"rebuilt {rebuilt['stems']} stem and {rebuilt['renders']} render fingerprints "
            f"to format {FORMAT_VERSION}; {rebuilt['failed']} without audio to rebuild from"
        )
