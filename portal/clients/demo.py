"""Demo client app: "Night Bus", a game by the demo developer gus, approved by sam.

Its soundtracks (portal/mixes/demo.py) are the ones whose plays earn in the demo. gus is not
credited on any stem, so the app's listening is not self-play. Idempotent.
"""

from __future__ import annotations

from typing import Any

from portal.accounts.demo import DEMO_PASSWORD
from portal.accounts.models import Role, User
from portal.accounts.services import user_create
from portal.clients.models import AppStatus, ClientApp
from portal.clients.services import app_decide, app_register

DEMO_APP_NAME = "Night Bus (demo game)"
DEMO_DEVELOPER = "gus"


def demo_app() -> ClientApp | None:
    return ClientApp.objects.filter(owner__username=DEMO_DEVELOPER, name=DEMO_APP_NAME).first()


def seed(*, out: Any) -> None:
    gus = User.objects.filter(username=DEMO_DEVELOPER).first()
    if gus is None:
        gus = user_create(
            username=DEMO_DEVELOPER,
            role=Role.ARTIST,
            password=DEMO_PASSWORD,
            email=f"{DEMO_DEVELOPER}@demo.stemvault.local",
            display_name="Gus (Night Bus developer)",
        )
        out.write(f"demo user {DEMO_DEVELOPER} (client app developer)")
    app = demo_app()
    if app is None:
        app = app_register(
            owner=gus,
            name=DEMO_APP_NAME,
            website="https://nightbus.example",
            description="A night-time driving game that asks for calm and uplifting cues.",
        )
    if app.status != AppStatus.APPROVED:
        staff = User.objects.filter(role=Role.STAFF).order_by("pk").first()
        if staff is None:
            out.write("demo client app left pending: no staff account to approve it")
            return
        app_decide(app_id=app.pk, actor=staff, status=AppStatus.APPROVED)
        out.write(f"demo client app {app.name} approved")
