"""Routes under /api/v1/ for this domain."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path

from portal.review import apis, credit_apis, notice_apis, vault_apis

# Under review/stems/<int:stem_id>/: one stem in review.
stem_patterns: list[URLPattern | URLResolver] = [
    path("", apis.ReviewStemApi.as_view(), name="review-stem"),
    path("claim/", apis.ReviewClaimApi.as_view(), name="review-claim"),
    path("decision/", apis.ReviewDecisionApi.as_view(), name="review-decision"),
    path("resubmit/", apis.ReviewResubmitApi.as_view(), name="review-resubmit"),
]

# Under credits/<int:credit_id>/: a credited artist's answer.
credit_patterns: list[URLPattern | URLResolver] = [
    path("accept/", credit_apis.CreditAcceptApi.as_view(), name="credits-accept"),
    path("decline/", credit_apis.CreditDeclineApi.as_view(), name="credits-decline"),
]

urlpatterns: list[URLPattern | URLResolver] = [
    path("review/queue/", apis.ReviewQueueApi.as_view(), name="review-queue"),
    path("review/reasons/", apis.ReasonTemplateListApi.as_view(), name="review-reasons"),
    path("review/decisions/", apis.DecisionListApi.as_view(), name="review-decisions"),
    path("review/stems/<int:stem_id>/", include(stem_patterns)),
    path("audit/", notice_apis.AuditListApi.as_view(), name="audit-list"),
    path("notifications/", notice_apis.NotificationListApi.as_view(), name="notifications-list"),
    path(
        "notifications/read/", notice_apis.NotificationReadApi.as_view(), name="notifications-read"
    ),
    path("credits/", credit_apis.CreditListApi.as_view(), name="credits-list"),
    path("credits/<int:credit_id>/", include(credit_patterns)),
    path("vault/", vault_apis.VaultListApi.as_view(), name="vault-list"),
    path(
        "vault/<int:stem_id>/takedown/",
        vault_apis.VaultTakedownApi.as_view(),
        name="vault-takedown",
    ),
]
