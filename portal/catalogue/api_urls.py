"""Routes under /api/v1/ for this domain."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from portal.catalogue import apis

urlpatterns: list[URLPattern | URLResolver] = [
    path("catalogue/", apis.CatalogueListApi.as_view(), name="catalogue-list"),
    path("catalogue/<int:stem_id>/", apis.CatalogueDetailApi.as_view(), name="catalogue-detail"),
    path("catalogue/favourites/", apis.FavouriteListApi.as_view(), name="catalogue-favourites"),
    path(
        "catalogue/favourites/<int:stem_id>/",
        apis.FavouriteApi.as_view(),
        name="catalogue-favourite",
    ),
    path("catalogue/my-usage/", apis.MyStemUsageApi.as_view(), name="catalogue-my-usage"),
]
