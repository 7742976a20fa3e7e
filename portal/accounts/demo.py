"""Demo accounts, one per role. Idempotent: an existing user is left as it is."""

from __future__ import annotations

from typing import Any

from portal.accounts.models import Role, User
from portal.accounts.services import user_create

DEMO_PASSWORD = "stemvault-demo"
DEMO_USERS = [
    ("ada", Role.ARTIST, "Ada Okafor", "NG"),
    ("ben", Role.ARTIST, "Ben Lindqvist", "SE"),
    ("cora", Role.CURATOR, "", ""),
    ("sam", Role.STAFF, "", ""),
]


def seed(*, out: Any) -> None:
    for username, role, display_name, country in DEMO_USERS:
        if User.objects.filter(username=username).exists():
            continue
        user_create(
            username=username,
            role=role,
            password=DEMO_PASSWORD,
            email=f"{username}@demo.stemvault.local",
            display_name=display_name or None,
            country=country,
        )
        out.write(f"demo user {username} ({role})")
