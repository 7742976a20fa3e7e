"""Routes under /api/v1/ for this domain."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path

from portal.clients import apis

# Under apps/<int:app_id>/: one client app's credentials and staff's decision on it.
app_patterns: list[URLPattern | URLResolver] = [
    path("credentials/", apis.CredentialListApi.as_view(), name="apps-credentials"),
    path(
        "credentials/<int:credential_id>/",
        apis.CredentialRevokeApi.as_view(),
        name="apps-credential-revoke",
    ),
    path("decision/", apis.AppDecisionApi.as_view(), name="apps-decision"),
    path("webhook/", apis.AppWebhookApi.as_view(), name="apps-webhook"),
]

urlpatterns: list[URLPattern | URLResolver] = [
    path("apps/", apis.AppListApi.as_view(), name="apps-list"),
    path("apps/<int:app_id>/", include(app_patterns)),
]
