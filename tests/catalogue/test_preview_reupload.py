"""A preview is the platform's own excerpt of one stem: uploaded back as an original it is judged
a copy of that stem by the near-duplicate check (refused when another artist sends it, held for
curators when its own artist does), and previews never make an upload that merely layers a
vault stem look like platform output (see portal/catalogue/services/previews.py)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from django.core.files.storage import default_storage

from renderer.audio import load_audio
from renderer.fingerprint import fingerprint
from tests.factories.audio import RATE, encode, tone_loop
from tests.factories.contributions import ATTESTED, meta, upload
from tests.factories.stems import StemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def original(artist):
    from portal.stems.models import Stem
    from portal.stems.services.licenses import license_template_publish

    license_template_publish(version=1, title="Stemvault standard license", terms="Terms.")
    samples = tone_loop(40.0, seed=23)
    stem = StemFactory(artist=artist, title="Plucked line", kind="stem", samples=samples)
    # What provenance stored for it when it was contributed: its fingerprint in the index.
    Stem.objects.filter(pk=stem.pk).update(fingerprint=fingerprint(samples, RATE).to_bytes())
    return stem


def _preview_as_wav(stem) -> bytes:
    """The preview as someone would re-upload it: decoded from the MP3 and written as WAV (an
    MP3 itself is refused at the door as lossy)."""
    from portal.catalogue.models import StemPreview
    from portal.catalogue.services.previews import preview_render

    assert preview_render(stem_id=stem.pk)["stored"] is True
    with default_storage.open(StemPreview.objects.get(stem=stem).audio, "rb") as handle:
        heard = load_audio(handle.read())
    return encode(heard.samples, heard.sample_rate, subtype="PCM_16")


def _submit(owner, data: bytes):
    from portal.stems.services.submission import stem_submit

    (stem,) = stem_submit(
        artist=owner,
        files=[upload(data, "my-take.wav")],
        metadata=[meta(title="My own take")],
        credits=[{"artist": owner.username, "split_percent": Decimal("100")}],
        license_version=1,
        attestations=dict(ATTESTED),
        ip_address="203.0.113.9",
    )
    return stem


def _checks(stem) -> dict:
    return {c.check_name: c for c in stem.checks.all()}


def test_another_artist_uploading_a_preview_is_refused_as_a_copy_of_its_stem(
    original, other_artist, run_jobs
):
    from portal.stems.models import StemStatus, Verdict

    upload_ = _submit(other_artist, _preview_as_wav(original))
    run_jobs()
    upload_.refresh_from_db()

    assert upload_.status == StemStatus.REJECTED
    checks = _checks(upload_)
    near = checks["near_duplicate"]
    assert near.verdict == Verdict.FAIL
    assert [m["stem_id"] for m in near.evidence["matches"]] == [original.pk]
    assert "another artist" in upload_.rejection_reason


def test_its_own_artist_uploading_a_preview_is_never_passed_without_a_curator(
    original, artist, run_jobs
):
    from portal.stems.models import StemStatus, Verdict

    upload_ = _submit(artist, _preview_as_wav(original))
    run_jobs()
    upload_.refresh_from_db()

    # A stem is approved only by a curator; this one reaches them flagged as the same sound
    # as the artist's earlier stem, which is what the curator then refuses or accepts.
    assert upload_.status == StemStatus.IN_REVIEW
    near = _checks(upload_)["near_duplicate"]
    assert near.verdict == Verdict.FLAG
    assert [m["stem_id"] for m in near.evidence["matches"]] == [original.pk]
    assert f"#{original.pk}" in near.summary


def test_a_preview_of_a_taken_down_stem_is_still_refused(original, other_artist, staff, run_jobs):
    from portal.review.services.takedowns import stem_takedown
    from portal.stems.models import StemStatus

    wav = _preview_as_wav(original)
    stem_takedown(stem=original, staff=staff, reason="A rights claim.")
    upload_ = _submit(other_artist, wav)
    run_jobs()
    upload_.refresh_from_db()
    assert upload_.status == StemStatus.REJECTED


def test_previews_leave_an_upload_that_layers_a_vault_stem_to_the_curators(
    original, other_artist, run_jobs
):
    from portal.stems.models import StemStatus, Verdict

    _preview_as_wav(original)  # the catalogue has rendered the stem's preview
    samples = tone_loop(40.0, seed=23)[: 30 * RATE]
    layered = (0.5 * samples + 0.5 * tone_loop(30.0, seed=99)).astype(np.float32)

    upload_ = _submit(other_artist, encode(layered))
    run_jobs()
    upload_.refresh_from_db()

    assert upload_.status == StemStatus.IN_REVIEW
    checks = _checks(upload_)
    assert checks["containment"].verdict == Verdict.FLAG
    assert checks["self_output"].verdict == Verdict.PASS
