from __future__ import annotations

from django.apps import AppConfig


class ClientsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "portal.clients"
    verbose_name = "Client apps"

    def ready(self) -> None:
        from portal.clients import checks  # noqa: F401  (registers the deploy check)
