"""Routes under /api/v1/ for this domain."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from portal.clients import apis

urlpatterns: list[URLPattern | URLResolver] = [
    path("apps/", apis.AppListApi.as_view(), name="apps-list"),
    path(
        "apps/<int:app_id>/credentials/",
        apis.CredentialListApi.as_view(),
        name="apps-credentials",
    ),
    path(
        "apps/<int:app_id>/credentials/<int:credential_id>/",
        apis.CredentialRevokeApi.as_view(),
        name="apps-credential-revoke",
    ),
    path("apps/<int:app_id>/decision/", apis.AppDecisionApi.as_view(), name="apps-decision"),
]
