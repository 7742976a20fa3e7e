"""The house app: Stemvault's own player (/listen/) as a client app.

Every stream session belongs to a client app, and everything downstream (counting, the stream
mixes, plays_ingest, period close, the held-plays pages) reads the app from the session. The
site's player is therefore one more approved app rather than a special case: its sessions are
counted and paid exactly as a partner app's are.

The app is owned by a platform account that nobody can sign in as (inactive, unusable
password) and that is credited on no stem, so the self-play rule, which compares the app's
owner with the mix's credited artists, never hides a listener's plays behind it. The app has
no credentials: the /listen/ endpoints resolve it from the signed-in user's session instead.
"""

from __future__ import annotations

from django.contrib.auth.hashers import make_password
from django.db import transaction

from portal.accounts.models import Role, User
from portal.audit.services import audit_record
from portal.clients.models import AppStatus, ClientApp
from portal.core.errors import Conflict

HOUSE_OWNER_USERNAME = "stemvault-house"
HOUSE_APP_NAME = "Stemvault player"
HOUSE_LISTENER_PREFIX = "user:"


def house_app() -> ClientApp | None:
    """The house app if it exists (a read: the endpoints that only touch existing sessions)."""
    return ClientApp.objects.filter(
        owner__username=HOUSE_OWNER_USERNAME, name=HOUSE_APP_NAME
    ).first()


def house_listener_id(user: User) -> str:
    """The house app's pseudonymous id of a signed-in user: the account's pk, never its name."""
    return f"{HOUSE_LISTENER_PREFIX}{user.pk}"


def house_listener_user_id(*, app_id: int, listener_id: str) -> int | None:
    """The account behind a house-app listener id, or None (another app, or not one of ours)."""
    if not listener_id.startswith(HOUSE_LISTENER_PREFIX):
        return None
    number = listener_id[len(HOUSE_LISTENER_PREFIX) :]
    app = house_app()
    if app is None or app.pk != app_id or not number.isdigit():
        return None
    return int(number)


@transaction.atomic
def house_app_ensure() -> ClientApp:
    """The house app, created (approved) on first use; the same row on every later call.

    Two first requests at once both reach get_or_create: the unique (owner, name) constraint
    and get_or_create's retry on IntegrityError leave one row. Staff may suspend the app like
    any other (the site's player then stops opening streams); this never approves it again.
    """
    owner, _ = User.objects.get_or_create(
        username=HOUSE_OWNER_USERNAME,
        # make_password(None): an unusable hash, so no password ever signs in as it.
        defaults={
            "role": Role.ARTIST,
            "is_active": False,
            "is_staff": False,
            "password": make_password(None),
        },
    )
    app, created = ClientApp.objects.get_or_create(
        owner=owner,
        name=HOUSE_APP_NAME,
        defaults={
            "status": AppStatus.APPROVED,
            "description": "Stemvault's own web player at /listen/ (first-party streams).",
        },
    )
    if created:
        audit_record(
            actor=None,
            action="clients.house_app_created",
            subject=f"client_app:{app.pk}",
            after={"name": app.name, "status": app.status},
        )
    if not app.is_approved:
        raise Conflict(
            "house_app_unavailable",
            f"The site's player is {app.get_status_display().lower()} by staff; streams cannot "
            "be opened here for now.",
        )
    return app
