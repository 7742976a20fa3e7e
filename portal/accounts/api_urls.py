"""Routes under /api/v1/ for this domain."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from portal.accounts import apis

urlpatterns: list[URLPattern | URLResolver] = [
    path("me/", apis.MeApi.as_view(), name="me"),
    path("tokens/", apis.TokenListApi.as_view(), name="tokens"),
    path("tokens/<int:token_id>/", apis.TokenRevokeApi.as_view(), name="token_revoke"),
]
