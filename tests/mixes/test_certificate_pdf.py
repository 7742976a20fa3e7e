"""The licence certificate as a PDF, and permitted uses that come from the stems' licences."""

from __future__ import annotations

import io
from typing import Any

import pytest
from pypdf import PdfReader

from portal.mixes import certificate_pdf
from portal.mixes.deliverables import certificate_context, permitted_uses
from portal.mixes.models import MixStem
from portal.stems.models import STANDARD_PERMITTED_USES, Credit, LicenseTemplate
from tests.factories.stems import LicenseTemplateFactory, vault_of
from tests.helpers.sync_api import request_soundtrack


def _pdf_text(body: bytes) -> str:
    assert body.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(body))
    # pypdf may break a long table cell over lines; compare on single spaces.
    return " ".join(" ".join(page.extract_text() or "" for page in reader.pages).split())


def _rename(artist: Any, name: str) -> None:
    from portal.accounts.models import ArtistProfile

    ArtistProfile.objects.update_or_create(user=artist, defaults={"display_name": name})
    artist.refresh_from_db()


def test_the_certificate_pdf_states_what_the_page_states(
    artist: Any, other_artist: Any, app_api: Any, client_app: Any, client_for: Any, run_jobs: Any
) -> None:
    vault_of(artist)
    mix, _ = request_soundtrack(app_api, client_app, run_jobs, seed=7)
    api = app_api(client_app)
    response = api.get(f"/api/v1/soundtracks/{mix.pk}/certificate.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f"stemvault-licence-{mix.pk}.pdf" in response["Content-Disposition"]
    text = _pdf_text(response.content)
    assert "Licence certificate" in text
    assert str(mix.pk) in text
    assert mix.manifest["audio_sha256"] in text
    assert client_app.name in text
    used = set(MixStem.objects.filter(mix=mix).values_list("stem_id", flat=True))
    for credit in Credit.objects.filter(stem_id__in=used).select_related("artist", "stem"):
        assert credit.artist.display_name in text
        assert credit.stem.title in text
    for use in STANDARD_PERMITTED_USES:
        assert use in text
    assert "python -m renderer verify FILE --portal-url http://testserver" in text
    # The page links to its PDF; the owner gets the same document from the site.
    page = api.get(f"/api/v1/soundtracks/{mix.pk}/certificate/").content.decode()
    assert f"/api/v1/soundtracks/{mix.pk}/certificate.pdf" in page
    owner = client_for(mix.requested_by)
    assert (
        f"/soundtracks/{mix.pk}/certificate.pdf"
        in owner.get(f"/soundtracks/{mix.pk}/certificate/").content.decode()
    )
    from_site = owner.get(f"/soundtracks/{mix.pk}/certificate.pdf")
    assert from_site.status_code == 200
    assert _pdf_text(from_site.content) == text
    assert client_for(other_artist).get(f"/soundtracks/{mix.pk}/certificate.pdf").status_code == 404


def test_a_stem_under_a_narrower_licence_narrows_the_soundtracks_uses(
    artist: Any, app_api: Any, client_app: Any, run_jobs: Any
) -> None:
    stems = vault_of(artist)
    narrow = LicenseTemplateFactory(
        version=2,
        title="Online video only",
        permitted_uses=[STANDARD_PERMITTED_USES[2], "Online video on the licensee's own channels"],
    )
    # Every stem of the small vault sounds in a soundtrack: one of them under version 2.
    stems[0].submission.license = narrow
    stems[0].submission.save()
    mix, _ = request_soundtrack(app_api, client_app, run_jobs, seed=3)
    versions = {stem["license_version"] for stem in mix.manifest["stems"]}
    assert versions == {1, 2}
    context = certificate_context(mix)
    assert context["permitted_uses"] == [STANDARD_PERMITTED_USES[2]]
    page = app_api(client_app).get(f"/api/v1/soundtracks/{mix.pk}/certificate/").content.decode()
    assert STANDARD_PERMITTED_USES[2] in page
    assert STANDARD_PERMITTED_USES[0] not in page
    pdf = _pdf_text(
        app_api(client_app).get(f"/api/v1/soundtracks/{mix.pk}/certificate.pdf").content
    )
    assert STANDARD_PERMITTED_USES[2] in pdf
    assert "Online video on the licensee's own channels" not in pdf


def test_licences_with_no_use_in_common_grant_nothing(db: None) -> None:
    one = LicenseTemplateFactory(version=5, permitted_uses=["Games"])
    two = LicenseTemplateFactory(version=6, permitted_uses=["Podcasts", "Games"])
    three = LicenseTemplateFactory(version=7, permitted_uses=["Podcasts"])
    assert permitted_uses([one, two]) == ["Games"]
    assert permitted_uses([two, three]) == ["Podcasts"]
    assert permitted_uses([one, three]) == []
    assert permitted_uses([]) == []


def test_published_uses_are_fixed_with_the_version(db: None) -> None:
    from portal.core.errors import ApplicationError, Conflict
    from portal.stems.services.licenses import license_template_publish

    first = license_template_publish(version=9, title="v9", terms="T", permitted_uses=["Games"])
    assert first.permitted_uses == ["Games"]
    assert (
        license_template_publish(version=9, title="v9", terms="T", permitted_uses=["Games"])
        == first
    )
    with pytest.raises(Conflict):
        license_template_publish(version=9, title="v9", terms="T", permitted_uses=["Films"])
    with pytest.raises(ApplicationError) as refused:
        license_template_publish(version=10, title="v10", terms="T", permitted_uses=[" "])
    assert refused.value.code == "permitted_uses_required"
    assert not LicenseTemplate.objects.filter(version=10).exists()
    # The default is the standard set, which the versions published before the field had.
    assert license_template_publish(version=11, title="v11", terms="U").permitted_uses == list(
        STANDARD_PERMITTED_USES
    )


def test_names_beyond_latin_1_reach_the_pdf(
    artist: Any, app_api: Any, client_app: Any, run_jobs: Any
) -> None:
    if certificate_pdf.certificate_font() is None:
        pytest.skip("no Unicode TrueType font on this machine (CERTIFICATE_PDF_FONTS)")
    _rename(artist, "Zoë Łukasiewicz")
    vault_of(artist)
    mix, _ = request_soundtrack(app_api, client_app, run_jobs, seed=2)
    text = _pdf_text(
        app_api(client_app).get(f"/api/v1/soundtracks/{mix.pk}/certificate.pdf").content
    )
    assert "Zoë Łukasiewicz" in text


def test_without_a_unicode_font_the_pdf_still_downloads_and_says_what_it_lost(
    artist: Any, app_api: Any, client_app: Any, run_jobs: Any, settings: Any
) -> None:
    settings.CERTIFICATE_PDF_FONTS = ["/nonexistent/font.ttf"]
    _rename(artist, "Zoë Łukasiewicz")
    vault_of(artist)
    mix, _ = request_soundtrack(app_api, client_app, run_jobs, seed=2)
    response = app_api(client_app).get(f"/api/v1/soundtracks/{mix.pk}/certificate.pdf")
    assert response.status_code == 200
    text = _pdf_text(response.content)
    assert "Zoë ?ukasiewicz" in text  # Latin-1 kept, the rest marked
    assert "the certificate page on Stemvault shows them in full" in text
