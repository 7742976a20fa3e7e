from __future__ import annotations

from django.apps import AppConfig


class PayoutsConfig(AppConfig):
    name = "portal.payouts"
    label = "payouts"

    def ready(self) -> None:
        from portal.payouts import checks  # noqa: F401  (registers the deploy check)
