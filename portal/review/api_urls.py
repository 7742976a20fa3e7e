"""Routes under /api/v1/ for this domain."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from portal.review import apis

urlpatterns: list[URLPattern | URLResolver] = [
    path("review/queue/", apis.ReviewQueueApi.as_view(), name="review-queue"),
    path("review/reasons/", apis.ReasonTemplateListApi.as_view(), name="review-reasons"),
    path("review/decisions/", apis.DecisionListApi.as_view(), name="review-decisions"),
    path("review/stems/<int:stem_id>/", apis.ReviewStemApi.as_view(), name="review-stem"),
    path("review/stems/<int:stem_id>/claim/", apis.ReviewClaimApi.as_view(), name="review-claim"),
    path(
        "review/stems/<int:stem_id>/decision/",
        apis.ReviewDecisionApi.as_view(),
        name="review-decision",
    ),
    path(
        "review/stems/<int:stem_id>/resubmit/",
        apis.ReviewResubmitApi.as_view(),
        name="review-resubmit",
    ),
    path("audit/", apis.AuditListApi.as_view(), name="audit-list"),
    path("notifications/", apis.NotificationListApi.as_view(), name="notifications-list"),
    path("notifications/read/", apis.NotificationReadApi.as_view(), name="notifications-read"),
    path("vault/", apis.VaultListApi.as_view(), name="vault-list"),
    path("vault/<int:stem_id>/takedown/", apis.VaultTakedownApi.as_view(), name="vault-takedown"),
]
