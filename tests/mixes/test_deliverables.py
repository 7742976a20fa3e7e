"""The licence certificate and the cue sheet of a soundtrack, made from its signed manifest."""

from __future__ import annotations

import csv
import io
from typing import Any

from portal.mixes.deliverables import CUE_SHEET_HEADER, cue_credits, stem_shares
from portal.mixes.models import MixStem
from portal.stems.models import Credit
from tests.factories.mixes import MixFactory
from tests.factories.stems import vault_of
from tests.helpers.sync_api import request_soundtrack


def _manifest() -> dict[str, Any]:
    return {
        "render_id": "r-1",
        "stems": [
            {"id": "1", "title": "Kick", "role": "drums", "license_version": 2,
             "credits": [{"artist": "Ana", "split_bps": 10000}]},
            {"id": "2", "title": "Pad", "role": "harmony", "license_version": 2,
             "credits": [{"artist": "Ben", "split_bps": 6000}, {"artist": "Cy", "split_bps": 4000}]},
            {"id": "3", "title": "Unheard", "role": "texture", "license_version": 2,
             "credits": [{"artist": "Dee", "split_bps": 10000}]},
        ],
        "attribution": {
            "resolution_s": 1,
            "seconds": [
                {"t": 0, "shares": {"2": 1.0}},
                {"t": 1, "shares": {"1": 0.5, "2": 0.5}},
                {"t": 2, "shares": {}},  # silence does not dilute anyone's share
                {"t": 3, "shares": {"1": 1 / 3, "2": 2 / 3}},
            ],
        },
    }  # fmt: skip


def test_cue_shares_follow_the_attribution_and_sum_to_exactly_100_percent() -> None:
    manifest = _manifest()
    shares = stem_shares(manifest)
    assert shares["1"] == (0.5 + 1 / 3) / 3 and shares["2"] == (1.0 + 0.5 + 2 / 3) / 3
    credits = cue_credits(manifest)
    # The unheard stem's artist is not on the cue sheet.
    assert [(c.artist, c.stem_title) for c in credits] == [
        ("Ana", "Kick"),
        ("Ben", "Pad"),
        ("Cy", "Pad"),
    ]
    assert sum(c.share_bps for c in credits) == 10000
    # Kick 27.78%, pad 72.22% split 60/40: 43.33% and 28.89% (largest remainder to 10000).
    assert [c.share_bps for c in credits] == [2778, 4333, 2889]


def test_the_cue_sheet_and_certificate_download_through_the_api_and_the_page(
    artist: Any,
    other_artist: Any,
    app_api: Any,
    client_app: Any,
    client_for: Any,
    run_jobs: Any,
) -> None:
    vault_of(artist)
    mix, _ = request_soundtrack(app_api, client_app, run_jobs, seed=4)
    api = app_api(client_app)
    response = api.get(f"/api/v1/soundtracks/{mix.pk}/cue-sheet/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert tuple(rows[0]) == CUE_SHEET_HEADER
    body = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    used = set(MixStem.objects.filter(mix=mix).values_list("stem_id", flat=True))
    expected = sorted(
        (str(c.stem_id), c.artist.display_name, f"{c.split_bps / 100:.2f}")
        for c in Credit.objects.filter(stem_id__in=used).select_related("artist")
    )
    assert sorted((r["stem_id"], r["artist"], r["split_percent"]) for r in body) == expected
    assert sum(round(float(r["share_percent"]) * 100) for r in body) == 10000
    assert {r["duration"] for r in body} == {"00:00:10"}
    assert {r["usage"] for r in body} == {"BI"}
    assert {r["render_id"] for r in body} == {str(mix.pk)}
    assert {r["artist_role"] for r in body} == {"Composer"}
    assert all(r["stem_role"] and r["licence_version"] for r in body)

    page = api.get(f"/api/v1/soundtracks/{mix.pk}/certificate/")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    text = page.content.decode()
    assert "Licence certificate" in text and str(mix.pk) in text
    assert artist.display_name in text  # the licensee and a credited artist
    assert "Permitted uses" in text and "Synchronisation" in text
    assert mix.manifest["audio_sha256"] in text

    browser = client_for(mix.requested_by)
    detail = browser.get(f"/soundtracks/{mix.pk}/").content.decode()
    assert f"/soundtracks/{mix.pk}/certificate/" in detail
    assert f"/soundtracks/{mix.pk}/cue-sheet.csv" in detail
    printable = browser.get(f"/soundtracks/{mix.pk}/certificate/")
    assert printable.status_code == 200 and "Licence certificate" in printable.content.decode()
    sheet = browser.get(f"/soundtracks/{mix.pk}/cue-sheet.csv")
    assert sheet.status_code == 200 and sheet.content == response.content
    # Someone else's soundtrack is not found, through the page as through the API.
    assert client_for(other_artist).get(f"/soundtracks/{mix.pk}/cue-sheet.csv").status_code == 404


def test_a_soundtrack_still_rendering_has_no_paperwork_yet(
    artist: Any, client_for: Any, api_for: Any
) -> None:
    mix = MixFactory(requested_by=artist, status="rendering")
    response = api_for(artist).get(f"/api/v1/soundtracks/{mix.pk}/cue-sheet/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_ready"
    assert client_for(artist).get(f"/soundtracks/{mix.pk}/certificate/").status_code == 404
