"""Reads for the catalogue: the stems a client may browse and audition, one stem's detail, the
caller's favourites.

The catalogue shows the vault and nothing else: approved stems under a license. A stem in
review, rejected, withdrawn or taken down does not exist here (NotFound, as for an unknown id),
so a takedown leaves every list and every detail page at once.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from portal.catalogue.filters import CatalogueFilters
from portal.catalogue.models import Favourite, StemPreview
from portal.core.errors import NotFound
from portal.core.music import parse_key
from portal.mixes.moods import normalise
from portal.stems.models import Credit, CreditConsent, Stem, StemStatus


def catalogue_base() -> QuerySet[Stem]:
    """Every stem the catalogue shows: approved, with the license it was contributed under."""
    return Stem.objects.filter(
        status=StemStatus.APPROVED, submission__license__isnull=False
    ).select_related("artist__artist_profile", "submission__license")


def _credits() -> Prefetch:  # type: ignore[type-arg]
    # Approved stems have every credit accepted; the filter says so for a stem approved before
    # credit consent existed, whose unanswered rows are no one's public share.
    return Prefetch(
        "credits",
        queryset=Credit.objects.filter(consent=CreditConsent.ACCEPTED)
        .select_related("artist__artist_profile")
        .order_by("-split_bps", "pk"),
    )


def favourites_of(*, user: Any, app: Any = None) -> QuerySet[Favourite]:
    """The caller's favourites: the app's when an app's credential asks, else the person's."""
    if app is not None:
        return Favourite.objects.filter(client_app=app, user__isnull=True)
    if not getattr(user, "is_authenticated", False):
        return Favourite.objects.none()
    return Favourite.objects.filter(user=user, client_app__isnull=True)


def _tag_ids(stems: QuerySet[Stem], filters: CatalogueFilters) -> list[int]:
    """Ids of the stems whose tags and key match. Tags are JSON lists written as artists typed
    them ("Calm", " calm"), and keys are text ("F#m" is "Gbm"): both are compared as the
    planner compares them, normalised in Python, since neither database can (PostgreSQL's
    JSON containment is case-sensitive, SQLite has none). One pass over the vault's tags."""
    ids = []
    for pk, moods, genres, key in stems.values_list("pk", "moods", "genres", "musical_key"):
        if filters.mood and filters.mood not in {normalise(str(m)) for m in moods or []}:
            continue
        if filters.genre and filters.genre not in {normalise(str(g)) for g in genres or []}:
            continue
        if filters.key is not None and parse_key(key) != filters.key:
            continue
        ids.append(pk)
    return ids


def catalogue_stems(
    *, filters: CatalogueFilters, user: Any = None, app: Any = None
) -> QuerySet[Stem]:
    """The catalogue filtered, newest first, each stem with its preview row (or None), its
    accepted credits and `is_favourite` for the caller."""
    stems = catalogue_base()
    if filters.role:
        stems = stems.filter(role=filters.role)
    if filters.kind:
        stems = stems.filter(kind=filters.kind)
    if filters.bpm_min is not None:
        stems = stems.filter(bpm__gte=filters.bpm_min)
    if filters.bpm_max is not None:
        stems = stems.filter(bpm__lte=filters.bpm_max)
    if filters.length_min is not None:
        stems = stems.filter(duration_s__gte=filters.length_min)
    if filters.length_max is not None:
        stems = stems.filter(duration_s__lte=filters.length_max)
    if filters.q:
        stems = stems.filter(
            Q(title__icontains=filters.q)
            | Q(description__icontains=filters.q)
            | Q(artist__artist_profile__display_name__icontains=filters.q)
            | Q(artist__username__iexact=filters.q)
        )
    mine = favourites_of(user=user, app=app)
    if filters.favourites:
        stems = stems.filter(pk__in=mine.values("stem_id"))
    if filters.mood or filters.genre or filters.key is not None:
        stems = stems.filter(pk__in=_tag_ids(stems, filters))
    return (
        stems.annotate(is_favourite=Exists(mine.filter(stem_id=OuterRef("pk"))))
        .prefetch_related(_credits())
        .order_by("-created_at", "-pk")
    )


def catalogue_stem_get(*, stem_id: int, user: Any = None, app: Any = None) -> Stem:
    """One catalogue stem with its credits and `is_favourite`; NotFound for any stem the
    catalogue does not show (not approved, taken down, unknown)."""
    mine = favourites_of(user=user, app=app)
    stem = (
        catalogue_base()
        .filter(pk=stem_id)
        .annotate(is_favourite=Exists(mine.filter(stem_id=OuterRef("pk"))))
        .prefetch_related(_credits())
        .first()
    )
    if stem is None:
        raise NotFound("stem_not_found", "No such stem in the catalogue.")
    return stem


def previews_for(stems: list[Stem]) -> dict[int, StemPreview]:
    """Stored previews of these stems by stem id (a stem missing here has none yet)."""
    return {p.stem_id: p for p in StemPreview.objects.filter(stem__in=stems)}
