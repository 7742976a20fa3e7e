from __future__ import annotations

from django.apps import AppConfig


class CatalogueConfig(AppConfig):
    name = "portal.catalogue"
    label = "catalogue"

    def ready(self) -> None:
        from portal.catalogue import tasks  # registers the preview job kind

        tasks.connect_signals()
