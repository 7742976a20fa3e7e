from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from portal.catalogue import views

app_name = "catalogue"

urlpatterns: list[URLPattern | URLResolver] = [
    path("catalogue/", views.catalogue, name="list"),
    path("catalogue/<int:stem_id>/", views.stem_detail, name="detail"),
    path("catalogue/<int:stem_id>/favourite/", views.favourite_toggle, name="favourite"),
]
