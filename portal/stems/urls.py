from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from portal.stems import views

app_name = "stems"

urlpatterns: list[URLPattern | URLResolver] = [
    path("contribute/", views.contribute, name="contribute"),
    path("contribute/measure/", views.contribute_measure, name="contribute-measure"),
    path("stems/", views.stem_list, name="list"),
    path("stems/<int:pk>/", views.stem_detail, name="detail"),
    path("stems/<int:pk>/withdraw/", views.stem_withdraw, name="withdraw"),
    path("stems/<int:pk>/edit/", views.stem_edit, name="edit"),
    path(
        "stems/<int:pk>/rerun-provenance/",
        views.stem_rerun_provenance,
        name="rerun-provenance",
    ),
    path("stems/<int:pk>/audio/", views.stem_audio, name="audio"),
    path("stems/<int:pk>/receipt/", views.stem_receipt, name="receipt"),
]
