from __future__ import annotations

from django.apps import AppConfig


class StemsConfig(AppConfig):
    name = "portal.stems"
    label = "stems"
