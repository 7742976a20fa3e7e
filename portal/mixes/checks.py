"""System checks: every machine must sign manifests with the one published key, and Content
Credentials with a configured certificate chain."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured

from portal.mixes.keys import _configured_path, c2pa_configured_paths


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


@register(Tags.security, deploy=True)
def check_content_credentials_chain(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    # A development chain is generated per machine and trusted by no validator: fine for one
    # machine, not for a deployment whose files people check with c2patool.
    try:
        configured = c2pa_configured_paths()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), id="stemvault.E003")]
    if not settings.BROKER_URL or configured is not None:
        return []
    return [
        Warning(
            "C2PA_CERT_CHAIN_PEM and C2PA_PRIVATE_KEY_PEM are unset while BROKER_URL says this "
            "is a deployment: delivered files' Content Credentials would be signed by a "
            "development CA generated on each machine, which no C2PA validator trusts.",
            hint="Set both to a certificate chain (signer first) from a CA on the C2PA trust "
            "list and its private key.",
            id="stemvault.W003",
        )
    ]
