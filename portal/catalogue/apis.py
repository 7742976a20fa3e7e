"""The catalogue API: browse and audition the vault, keep favourites, see one's stems' usage.

Client apps reach it with their credentials (scope "app") as signed-in people do with a
session or a personal token; anonymous callers get 401/403. Each stem carries a short-lived
preview link usable straight in <audio> (no header), and how to pin it into a soundtrack.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.accounts.permissions import IsArtist
from portal.catalogue import selectors
from portal.catalogue.filters import KNOWN_PARAMETERS, parse_filters
from portal.catalogue.presenting import stem_cards
from portal.catalogue.services.favourites import favourite_add, favourite_remove
from portal.catalogue.usage import stem_usage
from portal.clients.selectors import request_app
from portal.core.api import Pagination
from portal.stems.selectors import stem_list_for_artist

FILTER_PARAMETERS = [
    OpenApiParameter(name, OpenApiTypes.STR, description=description)
    for name, description in (
        ("q", "Text in the title, description or artist's name"),
        ("mood", "A mood of GET /api/v1/vocabulary/ (400 lists the known ones)"),
        ("genre", "A genre of GET /api/v1/vocabulary/"),
        ("role", "drums, percussion, bass, harmony, melody, vocals, texture or fx"),
        ("kind", "loop, one-shot, stem or field-recording"),
        ("key", "A key such as C, F#m, Bb or A minor (enharmonics match)"),
        ("bpm_min", "Lowest tempo, BPM"),
        ("bpm_max", "Highest tempo, BPM"),
        ("length_min", "Shortest length, seconds"),
        ("length_max", "Longest length, seconds"),
        ("favourites", "1: only the caller's favourites"),
    )
]
APP_SCOPES = ("app",)


class CatalogueListApi(APIView):
    allowed_token_scopes = APP_SCOPES

    @extend_schema(
        operation_id="catalogue_list",
        parameters=FILTER_PARAMETERS,
        responses=OpenApiTypes.OBJECT,
        summary="The vault's approved stems, filtered and paginated, with preview links",
    )
    def get(self, request: Request) -> Response:
        filters = parse_filters(request.query_params)
        stems = selectors.catalogue_stems(
            filters=filters, user=request.user, app=request_app(request)
        )
        paginator = Pagination()
        page = paginator.paginate_queryset(stems, request, view=self) or []
        response = paginator.get_paginated_response(stem_cards(request, list(page)))
        response.data["filters"] = list(KNOWN_PARAMETERS)
        return response


class CatalogueDetailApi(APIView):
    allowed_token_scopes = APP_SCOPES

    @extend_schema(
        operation_id="catalogue_detail",
        responses=OpenApiTypes.OBJECT,
        summary="One catalogue stem: credits with shares, waveform, preview link, how to pin",
    )
    def get(self, request: Request, stem_id: int) -> Response:
        stem = selectors.catalogue_stem_get(
            stem_id=stem_id, user=request.user, app=request_app(request)
        )
        return Response(stem_cards(request, [stem], detail=True)[0])


class FavouriteListApi(APIView):
    allowed_token_scopes = APP_SCOPES

    @extend_schema(
        operation_id="catalogue_favourites_list",
        responses=OpenApiTypes.OBJECT,
        summary="The caller's favourites (an app's own list with its credentials)",
    )
    def get(self, request: Request) -> Response:
        stems = selectors.catalogue_stems(
            filters=parse_filters({"favourites": "1"}),
            user=request.user,
            app=request_app(request),
        )
        paginator = Pagination()
        page = paginator.paginate_queryset(stems, request, view=self) or []
        return paginator.get_paginated_response(stem_cards(request, list(page)))


class FavouriteApi(APIView):
    allowed_token_scopes = APP_SCOPES

    @extend_schema(
        operation_id="catalogue_favourite_add",
        request=None,
        responses={201: OpenApiTypes.OBJECT},
        summary="Keep a stem",
    )
    def put(self, request: Request, stem_id: int) -> Response:
        favourite = favourite_add(stem_id=stem_id, user=request.user, app=request_app(request))
        return Response(
            {"stem_id": favourite.stem_id, "created_at": favourite.created_at.isoformat()},
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        operation_id="catalogue_favourite_remove",
        request=None,
        responses={204: None},
        summary="Forget a kept stem",
    )
    def delete(self, request: Request, stem_id: int) -> Response:
        favourite_remove(stem_id=stem_id, user=request.user, app=request_app(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MyStemUsageApi(APIView):
    """An artist's own stems (contributed or credited on) and where they are used."""

    permission_classes = [*APIView.permission_classes, IsArtist]

    @extend_schema(
        operation_id="catalogue_my_usage",
        responses=OpenApiTypes.OBJECT,
        summary="Soundtracks and plays of each of my stems, by month (counts only)",
    )
    def get(self, request: Request) -> Response:
        stems = list(stem_list_for_artist(user=request.user).values_list("pk", "title"))
        usage = stem_usage(stem_ids=[pk for pk, _ in stems])
        return Response({"stems": [{"title": title, **usage[pk].as_dict()} for pk, title in stems]})
