"""Reads: who may see which earnings, and a closed period (statements.py builds statements,
drilldown.py their lines down to the plays, overview.py the dashboard's charts)."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser

from portal.accounts.models import User
from portal.core.errors import ApplicationError, NotFound, PermissionDenied
from portal.core.money import format_money
from portal.royalties.models import Period
from portal.royalties.periods import parse_month


def money(amount_minor: int, currency: str) -> str:
    return format_money(amount_minor, currency)


# --- who sees what ------------------------------------------------------------------------------


def earnings_subject(
    *, viewer: User | AnonymousUser | None, artist_id: str | int | None = None
) -> User:
    """Whose earnings `viewer` may see: their own as an artist, anyone's as staff (who must say
    whose). Curators never see earnings; nobody else sees another artist's."""
    if not isinstance(viewer, User) or not viewer.is_authenticated:
        raise PermissionDenied("not_authenticated", "Log in to see earnings.")
    if viewer.is_curator:
        raise PermissionDenied("forbidden", "Curators do not see artists' earnings.")
    if artist_id is None or artist_id == "":
        if viewer.is_platform_staff:
            raise ApplicationError(
                "artist_required", "Staff: say whose statement, with ?artist=<id>."
            )
        return viewer
    try:
        wanted = int(artist_id)
    except (TypeError, ValueError):
        raise ApplicationError("invalid_artist", "artist is a user id.") from None
    if wanted != viewer.pk and not viewer.is_platform_staff:
        raise PermissionDenied("forbidden", "You can only see your own earnings.")
    artist = User.objects.filter(pk=wanted).first()
    if artist is None:
        raise NotFound("not_found", f"No user {wanted}.")
    return artist


def closed_period(month: str) -> Period:
    parse_month(month)
    period = Period.objects.filter(month=month).first()
    if period is None:
        raise NotFound("period_not_closed", f"{month} is not closed: there is no statement yet.")
    return period
