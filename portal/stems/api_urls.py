"""Routes under /api/v1/ for this domain."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from portal.stems import apis

urlpatterns: list[URLPattern | URLResolver] = [
    path("stems/", apis.StemCreateApi.as_view(), name="stems-list"),
    path("stems/<int:stem_id>/", apis.StemDetailApi.as_view(), name="stems-detail"),
    path("stems/<int:stem_id>/withdraw/", apis.StemWithdrawApi.as_view(), name="stems-withdraw"),
    path("stems/<int:stem_id>/receipt/", apis.StemReceiptApi.as_view(), name="stems-receipt"),
    path("stems/<int:stem_id>/audio/", apis.StemAudioApi.as_view(), name="stems-audio"),
    path("licenses/", apis.LicenseListApi.as_view(), name="stems-licenses"),
]
