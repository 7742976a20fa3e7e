"""Stems in every review state, with real (synthesised) audio stored through default_storage.

Rows are created directly, with the fields the contribution flow fills, so review's tests do
not depend on the upload pipeline; the end-to-end test drives that pipeline when it is there.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import uuid
from typing import Any

import numpy as np
import soundfile as sf
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from portal.review.models import ReasonTemplate
from portal.stems.models import (
    ContributionReceipt,
    Credit,
    CreditConsent,
    LicenseTemplate,
    ProvenanceCheck,
    Stem,
    StemStatus,
    Submission,
    Verdict,
)
from renderer.analysis import waveform_peaks
from renderer.audio import load_audio, pcm_sha256

SAMPLE_RATE = 44100
STORED: list[str] = []
_counter = itertools.count(1)


def tone(frequency: float, seconds: float = 1.5, level: float = 0.4) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (level * np.sin(2 * np.pi * frequency * t)).astype(np.float32)[:, None]


def wav_bytes(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, sample_rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def license_template() -> LicenseTemplate:
    terms = "Review test license: render in Stemvault mixes; royalties per play."
    template, _ = LicenseTemplate.objects.get_or_create(
        version=7,
        defaults={
            "title": "Stemvault review test license",
            "terms": terms,
            "terms_sha256": hashlib.sha256(terms.encode()).hexdigest(),
        },
    )
    return template


def make_stem(
    artist: Any,
    *,
    status: str = StemStatus.IN_REVIEW,
    verdict: str = Verdict.PASS,
    title: str | None = None,
    kind: str = "loop",
    role: str = "drums",
    bpm: float | None = 120.0,
    key: str = "",
    moods: list[str] | None = None,
    genres: list[str] | None = None,
    credits: list[tuple[Any, int]] | None = None,
    checks: list[tuple[str, str, str, dict[str, Any]]] | None = None,
    frequency: float | None = None,
    consent: str = CreditConsent.ACCEPTED,
) -> Stem:
    number = next(_counter)
    samples = tone(frequency or 200.0 + 37.0 * number)
    data = wav_bytes(samples)
    name = default_storage.save(f"stems/review-test/{uuid.uuid4().hex}.wav", ContentFile(data))
    STORED.append(name)
    audio = load_audio(data)
    submission = Submission.objects.create(
        artist=artist,
        license=license_template(),
        attestations={"made_it": True, "no_uncleared_samples": True, "not_ai_generated": True},
        ip_address="203.0.113.7",
    )
    stem = Stem.objects.create(
        submission=submission,
        artist=artist,
        title=title or f"Test stem {number}",
        kind=kind,
        role=role,
        bpm=bpm,
        bars=4 if kind == "loop" else None,
        musical_key=key,
        moods=moods or [],
        genres=genres or [],
        status=status,
        audio=name,
        original_filename=f"stem-{number}.wav",
        size_bytes=len(data),
        file_sha256=hashlib.sha256(data).hexdigest(),
        pcm_sha256=pcm_sha256(audio),
        audio_format="WAV",
        sample_rate=SAMPLE_RATE,
        channels=1,
        duration_s=audio.duration_s,
        analysis={
            "duration_s": audio.duration_s,
            "integrated_lufs": -14.2,
            "waveform_peaks": waveform_peaks(audio.samples, 50),
        },
        provenance_verdict=verdict,
    )
    # Everyone credited has accepted their share unless the test says otherwise (`consent`); the
    # uploader's own share is always accepted, as stem_submit records it.
    for credited, split_bps in credits or [(artist, 10000)]:
        Credit.objects.create(
            stem=stem,
            artist=credited,
            split_bps=split_bps,
            consent=CreditConsent.ACCEPTED if credited.pk == artist.pk else consent,
        )
    for check_name, check_verdict, summary, evidence in checks or [
        ("exact_duplicate", verdict, "No other stem has the same sound.", {})
    ]:
        ProvenanceCheck.objects.create(
            stem=stem,
            check_name=check_name,
            verdict=check_verdict,
            summary=summary,
            evidence=evidence,
        )
    ContributionReceipt.objects.create(
        stem=stem,
        body={"account": artist.username, "attested": ["made_it"], "pcm_sha256": stem.pcm_sha256},
    )
    return stem


DEFAULT_REASONS = {
    "uncleared-samples": "Contains uncleared samples",
    "not-human-made": "Not human-made",
    "quality": "Quality below the vault's bar",
    "duplicate": "Duplicate of existing material",
    "metadata": "Metadata is inaccurate",
}


def reason(code: str = "quality") -> ReasonTemplate:
    """The migration seeds these; transactional tests flush tables, so make sure they exist."""
    template, _ = ReasonTemplate.objects.get_or_create(
        code=code,
        defaults={"title": DEFAULT_REASONS.get(code, code), "text": f"Because: {code}."},
    )
    return template
