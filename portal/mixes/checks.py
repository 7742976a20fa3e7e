"""System check: every machine must sign manifests with the one published key."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register

from portal.mixes.keys import _configured_path


@register(Tags.security, deploy=True)
def check_shared_signing_key(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    # Renders are signed by workers, the public key is served by the web process. Without a
    # configured key each machine generates its own in var/keys/, and manifests signed on a
    # worker machine fail verification against the key the web machine publishes.
    if not settings.BROKER_URL or _configured_path() is not None:
        return []
    return [
        Warning(
            "STEMVAULT_SIGNING_KEY is unset while BROKER_URL says workers run elsewhere: each "
            "machine would sign manifests with its own key generated in var/keys/, and files "
            "rendered on one would fail verification against the key another publishes.",
            hint="Set STEMVAULT_SIGNING_KEY to the path of one Ed25519 PEM private key, the "
            "same file on every web and worker machine.",
            id="stemvault.W002",
        )
    ]
