"""/api/v1/graphql/: DRF's checks in front of strawberry's view.

A DRF view wraps strawberry's so that a GraphQL request passes exactly the checks a REST one
does, before its document is even parsed: the same authentication classes (an app's
credential, a personal token, or the session, which keeps its CSRF check as DRF enforces it),
the same permissions (FullScopeOnly with the soundtrack endpoints' scopes), the same throttles,
counting on the same counters. A refusal answers in GraphQL's error shape with the status,
headers (WWW-Authenticate, Retry-After) and code REST would have sent.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from strawberry.django.views import GraphQLView

# GraphiQL comes from unpkg and starts with inline scripts; it is served under DEBUG only, with
# a policy that lets it run (every other page keeps portal.core.csp's strict one).
GRAPHIQL_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://unpkg.com; "
    "style-src 'self' 'unsafe-inline' https://unpkg.com; img-src 'self' data:; "
    "font-src 'self' https://unpkg.com; object-src 'none'; base-uri 'self'; "
    "frame-ancestors 'none'"
)


class _StrawberryView(GraphQLView):
    def render_graphql_ide(self, request: HttpRequest) -> HttpResponse:
        response = super().render_graphql_ide(request)
        response["Content-Security-Policy"] = GRAPHIQL_POLICY
        return response


class GraphQLApi(APIView):
    allowed_token_scopes = ("app",)  # as the REST soundtrack and catalogue endpoints
    schema = None  # not in the OpenAPI document: GraphQL describes itself (schema.graphql)
    # The schema served: given by the route (portal.site.graphql puts it together from the
    # domains' queries, which this module, below them, cannot import).
    graphql_schema: Any = None

    def get(self, request: Request) -> HttpResponseBase:
        # GET runs queries only (strawberry refuses a mutation over GET), so a session
        # request without a CSRF token may read but never write.
        return self._execute(request)

    def post(self, request: Request) -> HttpResponseBase:
        return self._execute(request)

    def _execute(self, request: Request) -> HttpResponseBase:
        # DRF's authentication set user and auth on the Django request too, where the
        # resolvers read them.
        view = _StrawberryView.as_view(
            schema=self.graphql_schema, graphql_ide="graphiql" if settings.DEBUG else None
        )
        response: HttpResponseBase = view(request._request)
        return response

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # Strawberry answers in its own formats (JSON, or GraphiQL's page for a browser); DRF's
        # renderer only writes refusals, in JSON whatever the Accept header asked for.
        return super().perform_content_negotiation(request, force=True)

    def handle_exception(self, exc: Exception) -> Response:
        """The REST refusal (status, headers, code), its body in GraphQL's error shape."""
        response = super().handle_exception(exc)
        error: dict[str, Any] = response.data["error"]
        extensions: dict[str, Any] = {"code": error["code"], "status": response.status_code}
        if retry_after := response.headers.get("Retry-After"):
            extensions["retryAfter"] = int(retry_after)
        response.data = {
            "data": None,
            "errors": [{"message": error["message"], "extensions": extensions}],
        }
        return response
