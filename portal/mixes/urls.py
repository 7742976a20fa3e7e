from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from portal.mixes import clearance_views, version_views, views

app_name = "mixes"

urlpatterns: list[URLPattern | URLResolver] = [
    path("soundtracks/", views.soundtrack_list, name="soundtrack_list"),
    path("soundtracks/<uuid:mix_id>/", views.soundtrack_detail, name="soundtrack_detail"),
    path(
        "soundtracks/<uuid:mix_id>/variation/",
        version_views.soundtrack_variation,
        name="soundtrack_variation",
    ),
    path(
        "soundtracks/<uuid:mix_id>/version/",
        version_views.soundtrack_version,
        name="soundtrack_version",
    ),
    path(
        "soundtracks/<uuid:mix_id>/describe/",
        version_views.soundtrack_describe_view,
        name="soundtrack_describe",
    ),
    path(
        "soundtracks/<uuid:mix_id>/certificate/",
        views.soundtrack_certificate,
        name="soundtrack_certificate",
    ),
    path(
        "soundtracks/<uuid:mix_id>/certificate.pdf",
        views.soundtrack_certificate_pdf,
        name="soundtrack_certificate_pdf",
    ),
    path(
        "soundtracks/<uuid:mix_id>/cue-sheet.csv",
        views.soundtrack_cue_sheet,
        name="soundtrack_cue_sheet",
    ),
    path(".well-known/stemvault-manifest-key.pem", views.manifest_key, name="manifest_key"),
]

# The public clearance lookup (portal.mixes.clearance_views): no account needed.
urlpatterns += [
    path("clearance/", clearance_views.clearance_page, name="clearance"),
    path(
        "clearance/certificates/<uuid:mix_id>/",
        clearance_views.clearance_certificate,
        name="clearance_certificate",
    ),
]
