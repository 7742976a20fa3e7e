"""Routes under /api/v1/ that span domains: the one GraphQL endpoint."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from portal.mixes.graphql.views import GraphQLApi
from portal.site.graphql import schema

urlpatterns: list[URLPattern | URLResolver] = [
    path("graphql/", GraphQLApi.as_view(graphql_schema=schema), name="graphql"),
]
