"""Favourites: a stem kept for later by a signed-in person or by a client app."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from portal.catalogue.models import Favourite
from portal.catalogue.selectors import catalogue_stem_get


def _owner(*, user: Any, app: Any) -> dict[str, Any]:
    # An app's credential acts for the app, never for its owner's personal list.
    return (
        {"client_app": app, "user": None} if app is not None else {"user": user, "client_app": None}
    )


def favourite_add(*, stem_id: int, user: Any, app: Any = None) -> Favourite:
    """Keep a catalogue stem; adding it twice keeps it once. Only a stem the catalogue shows
    can be kept (NotFound otherwise)."""
    stem = catalogue_stem_get(stem_id=stem_id)
    owner = _owner(user=user, app=app)
    existing = Favourite.objects.filter(stem=stem, **owner).first()
    if existing is not None:
        return existing
    favourite = Favourite(stem=stem, **owner)
    favourite.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            favourite.save()
    except IntegrityError:  # a simultaneous add won: the same favourite
        return Favourite.objects.get(stem=stem, **owner)
    return favourite


def favourite_remove(*, stem_id: int, user: Any, app: Any = None) -> bool:
    """Forget a kept stem; True if there was one, False for a catalogue stem that was not kept
    (removing twice is fine). A kept stem that has left the catalogue since (taken down) can
    still be removed, so a list can always be cleaned; any other id is NotFound."""
    deleted = 0
    if 0 < stem_id < 2**63:  # beyond that no row exists, and SQLite cannot bind the number
        deleted, _ = Favourite.objects.filter(
            stem_id=stem_id, **_owner(user=user, app=app)
        ).delete()
    if not deleted:
        catalogue_stem_get(stem_id=stem_id)  # NotFound unless the catalogue shows it
    return deleted > 0
