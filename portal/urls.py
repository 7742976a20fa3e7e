from __future__ import annotations

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from portal.core import stored_files
from portal.site import views as site_views

api_v1: list[URLPattern | URLResolver] = [
    # Each domain owns its routes: portal/<domain>/api_urls.py.
    path("", include("portal.accounts.api_urls")),
    path("", include("portal.jobs.api_urls")),
    path("", include("portal.clients.api_urls")),
    path("", include("portal.stems.api_urls")),
    path("", include("portal.review.api_urls")),
    path("", include("portal.mixes.api_urls")),
    path("", include("portal.royalties.api_urls")),
    path("", include("portal.payouts.api_urls")),
    path("", include("portal.streams.api_urls")),
    path("", include("portal.catalogue.api_urls")),
    # The Sync API and the catalogue as GraphQL (portal/site/graphql.py).
    path("", include("portal.site.api_urls")),
]

urlpatterns = [
    path("", include("portal.site.urls")),
    path("", include("portal.accounts.urls")),
    path("", include("portal.clients.urls")),
    path("", include("portal.stems.urls")),
    path("", include("portal.review.urls")),
    path("", include("portal.mixes.urls")),
    path("", include("portal.royalties.urls")),
    path("", include("portal.payouts.urls")),
    path("", include("portal.streams.urls")),
    path("", include("portal.catalogue.urls")),
    path("healthz", site_views.healthz, name="healthz"),
    # Short-lived signed links to stored audio on local storage (S3 presigns its own).
    path("files/<str:token>", stored_files.signed_file_view, name="signed-file"),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline <script> (CSP).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api_docs"),
    path("admin/", admin.site.urls),
]

handler403 = "portal.site.views.permission_denied"
handler404 = "portal.site.views.not_found"
handler500 = "portal.site.views.server_error"
