"""The Sync API's GraphQL schema, and how an error becomes a GraphQL error with its REST code.

Every error a resolver raises goes through the REST API's own exception handler
(portal.core.api.exception_handler): the same code, message and fields, logged the same way.
The code lands in `extensions.code`, with the HTTP status REST would have answered in
`extensions.status`; a quota that frees at a known time adds `extensions.retryAfter` and the
response's Retry-After header.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import strawberry
from graphql import ExecutionResult, GraphQLError
from rest_framework.exceptions import ValidationError
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext, Info
from strawberry.types import ExecutionResult as StrawberryResult
from strawberry.utils.str_converters import to_camel_case

from portal.clients.selectors import request_app
from portal.core.api import Pagination, exception_handler
from portal.mixes import services
from portal.mixes.apis import SoundtrackListApi
from portal.mixes.graphql.types import (
    SoundtrackRequestInput,
    SoundtrackType,
    SoundtrackVersionInput,
    request_of,
)
from portal.mixes.models import Mix, RenderKind
from portal.mixes.selectors import mix_get_for_user, soundtrack_family, soundtracks_for_user
from portal.mixes.version_apis import SoundtrackVariationsApi, version_from_input
from portal.mixes.versions import (
    soundtrack_describe,
    soundtrack_variations_create,
)

# The deepest document this schema needs is soundtracks { credits { artist } } (3); the
# margin is for fragments. Aliases and tokens bound how much one request may ask for.
MAX_DEPTH = 6
MAX_ALIASES = 20
MAX_TOKENS = 2000
MAX_PAGE_SIZE = Pagination.max_page_size  # the REST list's bound
INVALID_QUERY = "invalid_query"


def _soundtrack(info: Info[Any, Any], id: uuid.UUID) -> SoundtrackType | None:
    request = request_of(info)
    mix = mix_get_for_user(
        mix_id=id, app=request_app(request), user=request.user, kind=RenderKind.SOUNDTRACK
    )
    return _as_type(mix)


def _soundtracks(info: Info[Any, Any], offset: int = 0, limit: int = 50) -> list[SoundtrackType]:
    if not 0 < limit <= MAX_PAGE_SIZE or offset < 0:
        message = f"Ask for 1 to {MAX_PAGE_SIZE} soundtracks from an offset of 0 or more."
        raise ValidationError({"limit": [message]})
    request = request_of(info)
    mixes = soundtracks_for_user(user=request.user, app=request_app(request))
    return [_as_type(mix) for mix in mixes[offset : offset + limit]]


def _request_soundtrack(
    info: Info[Any, Any], input: SoundtrackRequestInput
) -> SoundtrackType | None:
    request = request_of(info)
    # The REST serializer checks types and ranges, so both APIs refuse the same requests with
    # the same fields; the service (the one the REST view calls) checks the rest.
    data = SoundtrackListApi.InputSerializer(data=input.as_rest_data())
    data.is_valid(raise_exception=True)
    mix = services.soundtrack_request(
        user=request.user, data=dict(data.validated_data), app=request_app(request)
    )
    return _as_type(mix)


def _yours(info: Info[Any, Any], id: uuid.UUID) -> Mix:
    request = request_of(info)
    return mix_get_for_user(
        mix_id=id, app=request_app(request), user=request.user, kind=RenderKind.SOUNDTRACK
    )


def _soundtrack_family(info: Info[Any, Any], id: uuid.UUID) -> list[SoundtrackType]:
    request = request_of(info)
    family = soundtrack_family(mix=_yours(info, id), user=request.user, app=request_app(request))
    return [_as_type(mix) for mix in family]


def _create_variations(info: Info[Any, Any], id: uuid.UUID, count: int = 1) -> list[SoundtrackType]:
    request = request_of(info)
    parent = _yours(info, id)
    data = SoundtrackVariationsApi.InputSerializer(data={"count": count})
    data.is_valid(raise_exception=True)
    versions = soundtrack_variations_create(
        user=request.user,
        parent=parent,
        count=data.validated_data["count"],
        app=request_app(request),
    )
    return [_as_type(mix) for mix in versions]


def _create_version(
    info: Info[Any, Any], id: uuid.UUID, changes: SoundtrackVersionInput
) -> SoundtrackType:
    version = version_from_input(request_of(info), _yours(info, id), changes.as_rest_data())
    return _as_type(version)


def _describe(
    info: Info[Any, Any], id: uuid.UUID, name: str | None = None, notes: str | None = None
) -> SoundtrackType:
    request = request_of(info)
    mix = soundtrack_describe(user=request.user, mix=_yours(info, id), name=name, notes=notes)
    return _as_type(mix)


@strawberry.type
class Query:
    soundtrack: SoundtrackType | None = strawberry.field(
        resolver=_soundtrack,
        description="A soundtrack of yours (through an app's credential: of the app)",
    )
    soundtracks: list[SoundtrackType] = strawberry.field(
        resolver=_soundtracks,
        description="Your soundtracks, newest first (an app's: the app's own)",
    )
    soundtrack_family: list[SoundtrackType] = strawberry.field(
        resolver=_soundtrack_family,
        description="Every take of a soundtrack's family, the first take first",
    )


@strawberry.type
class Mutation:
    request_soundtrack: SoundtrackType | None = strawberry.mutation(
        resolver=_request_soundtrack,
        description="Request a soundtrack (POST /api/v1/soundtracks/): the same checks and "
        "error codes; poll it with `soundtrack(id)` until its status is done",
    )
    create_soundtrack_variations: list[SoundtrackType] = strawberry.mutation(
        resolver=_create_variations,
        description="Variations of a soundtrack: the same request with new seeds "
        "(POST /api/v1/soundtracks/<id>/variations/)",
    )
    create_soundtrack_version: SoundtrackType = strawberry.mutation(
        resolver=_create_version,
        description="A new version with changes (POST /api/v1/soundtracks/<id>/versions/)",
    )
    describe_soundtrack: SoundtrackType = strawberry.mutation(
        resolver=_describe,
        description="Name a take and keep notes on it (PATCH /api/v1/soundtracks/<id>/)",
    )


def _as_type(mix: Mix) -> SoundtrackType:
    # strawberry_django resolves the type's fields on the model instance itself.
    return mix  # type: ignore[return-value]


class RestErrorCodes(SchemaExtension):
    """Give every error an `extensions.code`: a resolver's from the REST handler, a document
    that does not parse, validate or pass the limits `invalid_query`."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        # graphql-core's result after execution, strawberry's when parsing or validation failed
        if isinstance(result, ExecutionResult | StrawberryResult) and result.errors:
            result.errors = [self._coded(error) for error in result.errors]

    def _coded(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if original is None or isinstance(original, GraphQLError):
            extensions = {**(error.extensions or {}), "code": INVALID_QUERY, "status": 400}
            return _with(error, error.message, extensions)
        context = self.execution_context.context
        request = getattr(context, "request", None)
        try:
            # Raised again so that the handler runs inside `except`, as under a REST view:
            # what listens to got_request_exception (error reporters, the test client) reads
            # the exception from sys.exc_info().
            raise original
        except Exception as exc:
            response = exception_handler(exc, {"request": _DrfLike(request)})
        assert response is not None  # the handler answers every exception, unknown ones with 500
        body = response.data["error"]
        extensions = {"code": body["code"], "status": response.status_code}
        if body.get("fields"):
            extensions["fields"] = {to_camel_case(k): v for k, v in body["fields"].items()}
        if retry_after := response.headers.get("Retry-After"):
            extensions["retryAfter"] = int(retry_after)
            sub_response = getattr(context, "response", None)
            if sub_response is not None:
                sub_response["Retry-After"] = retry_after
        return _with(error, body["message"], extensions)


class _DrfLike:
    """What the REST handler reads of a DRF request: the Django request beneath (for logs)."""

    def __init__(self, request: Any) -> None:
        self._request = request


def _with(error: GraphQLError, message: str, extensions: dict[str, Any]) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,
        extensions=extensions,
    )


class SyncSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Not logged here: RestErrorCodes hands each resolver error to the REST handler, which
        # logs the unexpected ones (with their traceback) as Django logs any view's; a
        # refused request or a malformed document is the client's to fix, not a server error.
        return None


def sync_schema(*, queries: Sequence[type] = (), mutations: Sequence[type] = ()) -> SyncSchema:
    """The Sync API's schema: the soundtracks' queries and mutations, and those of domains
    above this one (the catalogue's), merged into one Query and one Mutation with the same
    limits and error codes. The served schema is put together in portal.site.graphql, which
    may import every domain; this one may not."""
    return SyncSchema(
        query=merge_types("Query", (Query, *queries)),
        mutation=merge_types("Mutation", (Mutation, *mutations)),
        extensions=[
            lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
            lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
            lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
            RestErrorCodes,
        ],
    )
