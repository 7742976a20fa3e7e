from __future__ import annotations

from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "portal.review"
    label = "review"

    def ready(self) -> None:
        # Credited artists get a notice when a credit waits for their answer (review.credits).
        from portal.review.credits import connect_signals

        connect_signals()
