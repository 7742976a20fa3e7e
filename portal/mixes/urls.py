from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from portal.mixes import views

app_name = "mixes"

urlpatterns: list[URLPattern | URLResolver] = [
    path("soundtracks/", views.soundtrack_list, name="soundtrack_list"),
    path("soundtracks/<uuid:mix_id>/", views.soundtrack_detail, name="soundtrack_detail"),
    path(".well-known/stemvault-manifest-key.pem", views.manifest_key, name="manifest_key"),
]
