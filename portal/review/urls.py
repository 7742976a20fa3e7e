from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from portal.review import artist_views, audit_views, views

app_name = "review"

urlpatterns: list[URLPattern | URLResolver] = [
    path("review/", views.queue, name="queue"),
    path("review/history/", artist_views.history, name="history"),
    path("review/stems/<int:stem_id>/", views.stem_review, name="stem"),
    path("review/stems/<int:stem_id>/claim/", views.claim, name="claim"),
    path("review/stems/<int:stem_id>/release/", views.release, name="release"),
    path("review/stems/<int:stem_id>/decide/", views.decide, name="decide"),
    path("review/stems/<int:stem_id>/spectrogram.png", views.spectrogram, name="spectrogram"),
    path("stems/<int:stem_id>/changes/", artist_views.stem_changes, name="stem-changes"),
    path("audit/", audit_views.audit, name="audit"),
    path("notifications/", artist_views.notifications, name="notifications"),
    path("notifications/read/", artist_views.notifications_read, name="notifications-read"),
    path("credits/", artist_views.credits, name="credits"),
    path("credits/<int:credit_id>/accept/", artist_views.credit_accept, name="credit-accept"),
    path("credits/<int:credit_id>/decline/", artist_views.credit_decline, name="credit-decline"),
    path("vault/", views.vault, name="vault"),
    path("vault/<int:stem_id>/takedown/", views.takedown, name="takedown"),
]
