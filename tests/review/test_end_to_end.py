"""The whole loop: an artist contributes through the real pipeline, provenance runs as a job,
a curator claims, listens, reads the evidence and decides, and the artist sees the outcome."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from portal.review.models import Decision, Notification, ReasonTemplate
from portal.stems.models import Stem, StemStatus
from portal.stems.services.licenses import license_template_publish
from portal.stems.services.submission import stem_submit

pytestmark = pytest.mark.django_db
RATE = 48000


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


def _take(seed: int, seconds: float = 4.0) -> bytes:
    """A plucked, slightly noisy stereo phrase: unique per seed, clean enough to pass checks."""
    rng = np.random.default_rng(seed)
    frames = int(seconds * RATE)
    out = np.zeros(frames)
    for start in np.arange(0.0, seconds, 0.25):
        freq = 110.0 * 2 ** (rng.integers(0, 24) / 12)
        begin = int(start * RATE)
        length = min(frames - begin, int(0.5 * RATE))
        t = np.arange(length) / RATE
        note = sum(np.sin(2 * np.pi * freq * k * t) / k for k in (1, 2, 3))
        out[begin : begin + length] += note * np.exp(-t * 6.0)
    out += 0.02 * rng.standard_normal(frames)
    out *= 0.4 / np.max(np.abs(out))
    buffer = io.BytesIO()
    sf.write(buffer, np.stack([out, out * 0.9], axis=1), RATE, format="WAV", subtype="PCM_24")
    return buffer.getvalue()


def _contribute(artist: Any, title: str, seed: int) -> Stem:
    [stem] = stem_submit(
        artist=artist,
        files=[SimpleUploadedFile(f"{title}.wav", _take(seed))],
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
