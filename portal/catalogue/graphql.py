"""The catalogue as GraphQL, beside its REST API (portal.catalogue.apis): the same reads and
writes behind both, so the two answer alike.

A query's filters become the REST query string's names and go through the same
`parse_filters` (an unknown mood is `unknown_mood` with the known ones, a negative tempo
`invalid`), then the same selectors; each stem is the REST card (presenting.stem_card) field
for field. The favourite mutations call the REST view's services. The schema that serves
these (with the Sync API's soundtracks) is put together in portal.site.graphql, above both
domains; the endpoint's DRF view gives it REST's authentication, scopes and throttles.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from django.core.paginator import EmptyPage, Paginator
from rest_framework.exceptions import NotFound
from strawberry.scalars import JSON
from strawberry.types import Info

from portal.catalogue import selectors
from portal.catalogue.filters import parse_filters
from portal.catalogue.presenting import stem_cards
from portal.catalogue.services.favourites import favourite_add, favourite_remove
from portal.clients.selectors import request_app
from portal.core.api import Pagination
from portal.core.errors import ApplicationError
from portal.mixes.graphql.types import request_of

DEFAULT_PAGE_SIZE = 50  # REST's PAGE_SIZE
MAX_PAGE_SIZE = Pagination.max_page_size


@strawberry.input(description="The catalogue's filters, as GET /api/v1/catalogue/ takes them")
class CatalogueFilter:
    q: str | None = strawberry.field(
        default=None, description="Text in the title, description or artist's name"
    )
    mood: str | None = strawberry.field(
        default=None, description="A known mood (an unknown one is refused with the list)"
    )
    genre: str | None = None
    role: str | None = strawberry.field(
        default=None, description="drums, percussion, bass, harmony, melody, vocals, texture, fx"
    )
    kind: str | None = strawberry.field(
        default=None, description="loop, one-shot, stem or field-recording"
    )
    key: str | None = strawberry.field(
        default=None, description="A key such as C, F#m, Bb or A minor (enharmonics match)"
    )
    bpm_min: float | None = None
    bpm_max: float | None = None
    length_min: float | None = strawberry.field(default=None, description="Seconds")
    length_max: float | None = strawberry.field(default=None, description="Seconds")
    favourites: bool | None = strawberry.field(
        default=None, description="Only the caller's favourites"
    )

    def as_query(self) -> dict[str, str]:
        """The REST query string's parameters for these filters."""
        query: dict[str, str] = {}
        for name, value in vars(self).items():
            if value is None:
                continue
            if isinstance(value, bool):
                query[name] = "1" if value else "0"
            elif isinstance(value, float) and value.is_integer():
                query[name] = str(int(value))  # 90, as a query string writes it, not 90.0
            else:
                query[name] = str(value)
        return query


@strawberry.type
class CatalogueArtist:
    username: str
    display_name: str


@strawberry.type(description="An accepted credit on the stem and its share of its royalties")
class CatalogueCredit:
    username: str
    display_name: str
    share_bps: int = strawberry.field(description="In 1/10000 of the stem (they sum to 10000)")
    share: str
    role: str = strawberry.field(description="contributor (uploaded it) or collaborator")


@strawberry.type
class CatalogueLicense:
    version: int
    title: str
    permitted_uses: list[str] | None = strawberry.field(
        description="What a soundtrack using the stem may be used for (catalogueStem only)"
    )


@strawberry.type(description="A short, low-bitrate excerpt; the link needs no header")
class CataloguePreview:
    url: str
    expires_at: int = strawberry.field(description="Unix time the link stops working")
    content_type: str
    bitrate_bps: int
    duration_s: float


@strawberry.type(description="How to pin the stem into a soundtrack request")
class UseInSoundtrack:
    field: str
    request_api: str
    request_form: str
    example: JSON


@strawberry.type(description="An approved stem of the vault, as GET /api/v1/catalogue/<id>/")
class CatalogueStem:
    id: int
    title: str
    kind: str
    role: str
    bpm: float | None
    bars: int | None
    key: str
    moods: list[str]
    genres: list[str]
    duration_s: float
    artist: CatalogueArtist
    credits: list[CatalogueCredit]
    license: CatalogueLicense
    waveform_peaks: list[list[float]] = strawberry.field(
        description="[min, max] per slice: 50 slices in a list, every one on catalogueStem"
    )
    preview: CataloguePreview | None
    preview_status: str = strawberry.field(description="ready, or preparing (no preview yet)")
    is_favourite: bool
    use_in_soundtrack: UseInSoundtrack
    description: str | None = strawberry.field(description="catalogueStem only")
    created_at: datetime | None = strawberry.field(description="catalogueStem only")


def _stem(card: dict[str, Any]) -> CatalogueStem:
    """The GraphQL type of a REST card: the same fields, nothing computed again."""
    preview = card["preview"]
    created = card.get("created_at")
    return CatalogueStem(
        id=card["id"],
        title=card["title"],
        kind=card["kind"],
        role=card["role"],
        bpm=card["bpm"],
        bars=card["bars"],
        key=card["key"],
        moods=[str(m) for m in card["moods"]],
        genres=[str(g) for g in card["genres"]],
        duration_s=card["duration_s"],
        artist=CatalogueArtist(**card["artist"]),
        credits=[CatalogueCredit(**credit) for credit in card["credits"]],
        license=CatalogueLicense(
            version=card["license"]["version"],
            title=card["license"]["title"],
            permitted_uses=card["license"].get("permitted_uses"),
        ),
        waveform_peaks=card["waveform_peaks"],
        preview=CataloguePreview(**preview) if preview is not None else None,
        preview_status=card["preview_status"],
        is_favourite=card["is_favourite"],
        use_in_soundtrack=UseInSoundtrack(**card["use_in_soundtrack"]),
        description=card.get("description"),
        created_at=datetime.fromisoformat(created) if created else None,
    )


@strawberry.type(description="One page of the catalogue, as the REST list's")
class CataloguePage:
    count: int = strawberry.field(description="Stems matching the filters, on every page")
    page: int
    page_size: int
    num_pages: int
    results: list[CatalogueStem]


def _cards(info: Info[Any, Any], stems: list[Any], *, detail: bool = False) -> list[CatalogueStem]:
    return [_stem(card) for card in stem_cards(request_of(info), stems, detail=detail)]


def _catalogue(
    info: Info[Any, Any],
    filters: Annotated[CatalogueFilter | None, strawberry.argument(name="filter")] = None,
    page: int = 1,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> CataloguePage:
    if not 0 < page_size <= MAX_PAGE_SIZE or page < 1:
        raise ApplicationError(
            "invalid",
            f"Ask for pages of 1 to {MAX_PAGE_SIZE} stems, from page 1.",
            fields={"page_size": [f"1 to {MAX_PAGE_SIZE}."], "page": ["1 or more."]},
            status=400,
        )
    request = request_of(info)
    parsed = parse_filters(filters.as_query() if filters is not None else {})
    stems = selectors.catalogue_stems(filters=parsed, user=request.user, app=request_app(request))
    paginator = Paginator(stems, page_size)
    try:
        rows = list(paginator.page(page).object_list)
    except EmptyPage:
        # REST's 404 for a page past the last (an empty catalogue still has its page 1).
        if page > 1:
            raise NotFound(f"Invalid page: there are {paginator.num_pages}.") from None
        rows = []
    return CataloguePage(
        count=paginator.count,
        page=page,
        page_size=page_size,
        num_pages=paginator.num_pages,
        results=_cards(info, rows),
    )


def _catalogue_stem(info: Info[Any, Any], id: int) -> CatalogueStem | None:
    request = request_of(info)
    stem = selectors.catalogue_stem_get(stem_id=id, user=request.user, app=request_app(request))
    return _cards(info, [stem], detail=True)[0]


@strawberry.type(description="A stem kept by the caller (an app's credential: by the app)")
class Favourite:
    stem_id: int
    created_at: datetime


def _add_favourite(info: Info[Any, Any], stem_id: int) -> Favourite:
    request = request_of(info)
    favourite = favourite_add(stem_id=stem_id, user=request.user, app=request_app(request))
    return Favourite(stem_id=favourite.stem_id, created_at=favourite.created_at)


def _remove_favourite(info: Info[Any, Any], stem_id: int) -> bool:
    request = request_of(info)
    return favourite_remove(stem_id=stem_id, user=request.user, app=request_app(request))


@strawberry.type
class CatalogueQuery:
    catalogue: CataloguePage = strawberry.field(
        resolver=_catalogue,
        description="The vault's approved stems, filtered and paginated, newest first "
        "(GET /api/v1/catalogue/)",
    )
    catalogue_stem: CatalogueStem | None = strawberry.field(
        resolver=_catalogue_stem,
        description="One catalogue stem with every waveform slice, its licence's permitted "
        "uses and its description (GET /api/v1/catalogue/<id>/)",
    )


@strawberry.type
class CatalogueMutation:
    add_favourite: Favourite = strawberry.mutation(
        resolver=_add_favourite,
        description="Keep a stem; twice keeps it once (PUT /api/v1/catalogue/favourites/<id>/)",
    )
    remove_favourite: bool = strawberry.mutation(
        resolver=_remove_favourite,
        description="Forget a kept stem: true if it was kept "
        "(DELETE /api/v1/catalogue/favourites/<id>/)",
    )
