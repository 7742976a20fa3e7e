from __future__ import annotations

from django.apps import AppConfig


class StreamsConfig(AppConfig):
    name = "portal.streams"
    label = "streams"

    def ready(self) -> None:
        from portal.streams import checks, tasks  # noqa: F401  (registers checks and job kinds)
