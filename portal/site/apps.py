from __future__ import annotations

from django.apps import AppConfig


class SiteConfig(AppConfig):
    # The project level, above every domain: pages that gather several domains (home,
    # dashboard, health) and the commands that start or seed the whole portal.
    name = "portal.site"
    label = "site"
