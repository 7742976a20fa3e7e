"""Routes under /api/v1/ for this domain."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from portal.royalties import apis, estimate_apis

urlpatterns: list[URLPattern | URLResolver] = [
    path("plays/", apis.PlayIngestApi.as_view(), name="royalties-plays"),
    path("royalties/statements/", apis.StatementApi.as_view(), name="royalties-statement"),
    path(
        "royalties/statements/estimate/",
        estimate_apis.StatementEstimateApi.as_view(),
        name="royalties-statement-estimate",
    ),
    path("royalties/held/", apis.HeldPlaysApi.as_view(), name="royalties-held"),
    path("royalties/held/release/", apis.HeldReleaseApi.as_view(), name="royalties-held-release"),
]
