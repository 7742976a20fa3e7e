"""Routes under /api/v1/ for this domain."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from portal.mixes import apis, clearance_views, download_apis, paperwork_apis, version_apis

urlpatterns: list[URLPattern | URLResolver] = [
    path("soundtracks/", apis.SoundtrackListApi.as_view(), name="mixes-soundtrack-list"),
    path(
        "soundtracks/<uuid:mix_id>/",
        version_apis.SoundtrackDescribeApi.as_view(),
        name="mixes-soundtrack-detail",
    ),
    path(
        "soundtracks/<uuid:mix_id>/variations/",
        version_apis.SoundtrackVariationsApi.as_view(),
        name="mixes-soundtrack-variations",
    ),
    path(
        "soundtracks/<uuid:mix_id>/versions/",
        version_apis.SoundtrackVersionsApi.as_view(),
        name="mixes-soundtrack-versions",
    ),
    path(
        "soundtracks/<uuid:mix_id>/family/",
        version_apis.SoundtrackFamilyApi.as_view(),
        name="mixes-soundtrack-family",
    ),
    path("vocabulary/", apis.VocabularyApi.as_view(), name="mixes-vocabulary"),
    path("mixes/public-key/", paperwork_apis.PublicKeyApi.as_view(), name="mixes-public-key"),
    path("mixes/<uuid:mix_id>/audio/", download_apis.MixAudioApi.as_view(), name="mixes-audio"),
    path(
        "mixes/<uuid:mix_id>/manifest/",
        paperwork_apis.MixManifestApi.as_view(),
        name="mixes-manifest",
    ),
    path(
        "soundtracks/<uuid:mix_id>/certificate/",
        paperwork_apis.SoundtrackCertificateApi.as_view(),
        name="mixes-soundtrack-certificate",
    ),
    path(
        "soundtracks/<uuid:mix_id>/certificate.pdf",
        paperwork_apis.SoundtrackCertificatePdfApi.as_view(),
        name="mixes-soundtrack-certificate-pdf",
    ),
    path(
        "soundtracks/<uuid:mix_id>/files/<str:kind>/",
        download_apis.SoundtrackFileApi.as_view(),
        name="mixes-soundtrack-file",
    ),
    path(
        "soundtracks/<uuid:mix_id>/cue-sheet/",
        paperwork_apis.SoundtrackCueSheetApi.as_view(),
        name="mixes-soundtrack-cue-sheet",
    ),
    # Public: which renders a clip comes from (portal.mixes.clearance_views).
    path("clearance/", clearance_views.ClearanceApi.as_view(), name="mixes-clearance"),
]
