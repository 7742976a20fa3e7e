"""System checks of settings that only matter once the portal runs on several machines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register


def secret_key_is_per_machine() -> bool:
    """True when SECRET_KEY is the one generated into VAR_DIR on first start, not a set one."""
    path = Path(getattr(settings, "SECRET_KEY_FILE", Path(settings.VAR_DIR) / "secret_key"))
    try:
        return path.read_text().strip() == settings.SECRET_KEY
    except OSError:
        return False


@register(Tags.security, deploy=True)
def check_shared_secret_key(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    # A broker means a worker in another process, usually on another machine; a web tier of
    # several machines has one too. Each would generate its own var/secret_key, and a session,
    # password-reset link or signed value made on one machine is then refused by the others.
    if not settings.BROKER_URL or not secret_key_is_per_machine():
        return []
    return [
        Warning(
            "SECRET_KEY is the key generated in var/secret_key on this machine, but BROKER_URL "
            "says other processes (workers, more web servers) run elsewhere: each machine "
            "would sign sessions and password-reset links with a different key.",
            hint="Set SECRET_KEY to the same random value on every web and worker machine.",
            id="stemvault.W001",
        )
    ]
