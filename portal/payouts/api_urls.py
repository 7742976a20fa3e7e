"""Routes under /api/v1/ for this domain."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from portal.payouts import apis

urlpatterns: list[URLPattern | URLResolver] = [
    path("payouts/", apis.PayoutListApi.as_view(), name="payouts-list"),
]
