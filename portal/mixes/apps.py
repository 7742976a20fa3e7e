from __future__ import annotations

from django.apps import AppConfig


class MixesConfig(AppConfig):
    name = "portal.mixes"
    label = "mixes"
