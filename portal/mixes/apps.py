from __future__ import annotations

from django.apps import AppConfig


class MixesConfig(AppConfig):
    name = "portal.mixes"
    label = "mixes"

    def ready(self) -> None:
        from portal.mixes import checks  # noqa: F401  (registers the deploy check)

        # Every stem that enters review gets a preview mix (see tasks.on_stem_entered_review).
        from portal.mixes.tasks import connect_signals

        connect_signals()
