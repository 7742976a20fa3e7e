from __future__ import annotations

from django.urls import URLPattern, URLResolver, path, re_path

from portal.royalties import views

app_name = "royalties"

MONTH = r"(?P<month>\d{4}-\d{2})"

urlpatterns: list[URLPattern | URLResolver] = [
    path("royalties/", views.dashboard, name="dashboard"),
    path("royalties/periods/", views.periods, name="periods"),
    path("royalties/held/", views.held_plays, name="held"),
    path("how-plays-count/", views.how_plays_count, name="how_plays_count"),
    re_path(rf"^royalties/statements/{MONTH}\.csv$", views.statement_csv, name="statement_csv"),
    re_path(rf"^royalties/statements/{MONTH}/$", views.statement, name="statement"),
    re_path(
        rf"^royalties/statements/{MONTH}/stems/(?P<stem_id>\d+)/$",
        views.statement_stem,
        name="statement_stem",
    ),
]
