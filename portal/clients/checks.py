"""System checks for client apps' settings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register


@register(Tags.security, deploy=True)
def check_webhooks_stay_public(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    # With private addresses allowed, any app owner can make the portal POST to the services
    # beside it (a metadata endpoint, an admin port): server-side request forgery.
    if settings.DEBUG or not getattr(settings, "WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", False):
        return []
    return [
        Warning(
            "WEBHOOKS_ALLOW_PRIVATE_ADDRESSES is on in production: client apps' webhooks may "
            "be sent to loopback and private addresses (server-side request forgery).",
            hint="Unset WEBHOOKS_ALLOW_PRIVATE_ADDRESSES; it is meant for a local receiver.",
            id="stemvault.W041",
        )
    ]
