from __future__ import annotations

from django.urls import path

from portal.clients import views

app_name = "clients"

urlpatterns = [
    path("apps/", views.app_list, name="list"),
    path("apps/<int:app_id>/credentials/", views.credential_create, name="credential_create"),
    path(
        "apps/<int:app_id>/credentials/<int:credential_id>/revoke/",
        views.credential_revoke,
        name="credential_revoke",
    ),
    path("apps/<int:app_id>/webhook/", views.webhook_set, name="webhook_set"),
    path("staff/apps/", views.staff_apps, name="staff"),
    path("staff/apps/<int:app_id>/decision/", views.staff_decide, name="staff_decide"),
]
