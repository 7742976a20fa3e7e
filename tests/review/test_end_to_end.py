"""The whole loop: an artist contributes through the real pipeline, provenance runs as a job,
a curator claims, listens, reads the evidence and decides, and the artist sees the outcome."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from portal.review.models import Decision, Notification, ReasonTemplate
from portal.stems.models import Stem, StemStatus
from portal.stems.services.licenses import license_template_publish
from portal.stems.services.submission import stem_submit
from tests.factories.audio import encode, tone_loop

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _isolated(settings: Any, tmp_path: Path) -> Iterator[None]:
    """Stored uploads go to a per-test place, and the provenance indexes start cold (they are
    process-wide caches; another test's stems must not be matched against)."""
    from portal.stems.fingerprint_indexes import reset_indexes

    default = settings.STORAGES["default"]
    if settings.AWS_STORAGE_BUCKET_NAME:
        options = {**default["OPTIONS"], "location": f"tests/{uuid.uuid4().hex}"}
        storage = {**default, "OPTIONS": options}
    else:
        storage = {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media"), "base_url": None},
        }
    settings.STORAGES = {**settings.STORAGES, "default": storage}
    reset_indexes()
    yield
    reset_indexes()


def _contribute(artist: Any, title: str, seed: int) -> Stem:
    [stem] = stem_submit(
        artist=artist,
        files=[SimpleUploadedFile(f"{title}.wav", encode(tone_loop(seed=seed)))],
        metadata=[
            {
                "title": title,
                "kind": "stem",
                "role": "melody",
                "musical_key": "Am",
                "moods": ["calm"],
                "genres": ["ambient"],
            }
        ],
        credits=[{"artist": artist.username, "split_percent": Decimal("100")}],
        license_version=1,
        attestations={
            "made_it_and_holds_rights": True,
            "no_uncleared_samples": True,
            "not_ai_generated": True,
            "accepts_terms_version": 1,
        },
        ip_address="203.0.113.9",
    )
    return stem


def test_an_artist_submits_a_curator_decides_and_the_artist_sees_why(
    artist, curator, client_for, run_jobs, django_capture_on_commit_callbacks
):
    license_template_publish(version=1, title="Standard", terms="You grant Stemvault...")
    reason = ReasonTemplate.objects.get_or_create(
        code="quality",
        defaults={"title": "Quality below the vault's bar", "text": "The audio quality is low."},
    )[0]
    with django_capture_on_commit_callbacks(execute=True):
        keeper = _contribute(artist, "Morning pluck", seed=11)
        reject = _contribute(artist, "Evening pluck", seed=12)
    run_jobs()  # provenance
    for stem in (keeper, reject):
        stem.refresh_from_db()
        assert stem.status == StemStatus.IN_REVIEW, (stem.title, stem.rejection_reason)
        assert stem.checks.count() >= 5

    desk = client_for(curator)
    queue = desk.get("/review/").content.decode()
    assert "Morning pluck" in queue and "Evening pluck" in queue

    # Claim, listen, read the evidence, decide.
    assert desk.post(f"/review/stems/{reject.pk}/claim/").status_code == 302
    dossier = desk.get(f"/review/stems/{reject.pk}/").content.decode()
    assert f'src="/api/v1/stems/{reject.pk}/audio/"' in dossier
    assert desk.get(f"/api/v1/stems/{reject.pk}/audio/").status_code in (200, 302)
    assert desk.get(f"/review/stems/{reject.pk}/spectrogram.png").status_code == 200
    for check in reject.checks.all():
        assert check.summary.replace("'", "&#x27;") in dossier or check.summary in dossier
    with django_capture_on_commit_callbacks(execute=True):
        response = desk.post(
            f"/review/stems/{reject.pk}/decide/",
            {
                "decision": "reject",
                "reason_template": reason.pk,
                "note": "The low end rumbles under everything.",
            },
        )
    assert response.status_code == 302

    assert desk.post(f"/review/stems/{keeper.pk}/claim/").status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        desk.post(
            f"/review/stems/{keeper.pk}/decide/",
            {"decision": "approve", "justification": "Clean and lovely."},
        )
    run_jobs()  # whatever the decisions set off (preview renders, say) must not break

    keeper.refresh_from_db()
    reject.refresh_from_db()
    assert keeper.status == StemStatus.APPROVED
    assert reject.status == StemStatus.REJECTED
    assert Decision.objects.filter(stem__in=[keeper, reject]).count() == 2

    # The artist sees the outcome and the reason: on the stem's page, in notices, by email.
    studio = client_for(artist)
    page = studio.get(f"/stems/{reject.pk}/").content.decode()
    assert "This stem was rejected." in page
    assert "Quality below the vault&#x27;s bar" in page
    assert "The low end rumbles under everything." in page
    notices = studio.get("/notifications/").content.decode()
    assert "The low end rumbles under everything." in notices
    assert "“Morning pluck” was approved" in notices
    studio.post(
        "/notifications/read/", {"ids": list(artist.notifications.values_list("pk", flat=True))}
    )
    assert Notification.objects.filter(user=artist, read_at__isnull=True).count() == 0
    subjects = sorted(message.subject for message in mail.outbox)
    assert subjects == ["“Evening pluck” was not accepted", "“Morning pluck” is in the vault"]
    rejection = next(m for m in mail.outbox if "Evening" in m.subject)
    assert "The low end rumbles under everything." in rejection.body
    assert rejection.to == [artist.email]

    # The approved stem is in the vault, with its license.
    vault = desk.get("/api/v1/vault/").json()["results"]
    assert [(item["title"], item["license"]["version"]) for item in vault] == [("Morning pluck", 1)]
