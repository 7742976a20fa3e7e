"""Stems in the vault: licence, submission, the stem row with its stored audio, its credits.

Rows are written directly, with the fields the contribution flow fills (hashes, format and
duration read from the stored file), so other domains' tests do not depend on the upload
pipeline. The contribution tests themselves go through `stem_submit` and provenance (the stems
conftest's `submit` fixture); nothing here stands in for them.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import factory
import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from factory.django import DjangoModelFactory

from portal.stems.models import (
    ContributionReceipt,
    Credit,
    CreditConsent,
    LicenseTemplate,
    ProvenanceCheck,
    Stem,
    StemKind,
    StemStatus,
    Submission,
    Verdict,
)
from renderer.analysis import waveform_peaks
from renderer.audio import load_audio, pcm_sha256
from tests.factories import audio
from tests.factories.accounts import UserFactory

# Names of the files the factories stored; the suite's conftest deletes them after each test.
STORED: list[str] = []

ATTESTED = {"made_it": True, "no_uncleared_samples": True, "not_ai_generated": True}


class LicenseTemplateFactory(DjangoModelFactory):
    """The licence a stem was contributed under: the published version 1 if there is one."""

    class Meta:
        model = LicenseTemplate
        django_get_or_create = ("version",)

    version = 1
    title = "Stemvault test license"
    terms = "Test license: render in Stemvault mixes; royalties per play."
    terms_sha256 = factory.LazyAttribute(lambda lic: hashlib.sha256(lic.terms.encode()).hexdigest())


class SubmissionFactory(DjangoModelFactory):
    class Meta:
        model = Submission

    artist = factory.SubFactory(UserFactory)
    license = factory.SubFactory(LicenseTemplateFactory)
    attestations = factory.LazyFunction(lambda: dict(ATTESTED))
    ip_address = "203.0.113.7"


def _store(samples: np.ndarray, sample_rate: int) -> dict[str, Any]:
    """Write the samples as 16-bit WAV through default_storage (local disk or S3, as uploads
    are) and return the stem fields the contribution flow reads from the file."""
    data = audio.encode(samples, sample_rate, subtype="PCM_16")
    name = default_storage.save(f"stems/test/{uuid.uuid4().hex}.wav", ContentFile(data))
    STORED.append(name)
    decoded = load_audio(data)
    return {
        "audio": name,
        "size_bytes": len(data),
        "file_sha256": hashlib.sha256(data).hexdigest(),
        "pcm_sha256": pcm_sha256(decoded),
        "audio_format": "WAV",
        "sample_rate": sample_rate,
        "channels": samples.shape[1],
        "duration_s": decoded.duration_s,
        "_decoded": decoded,
    }


def _placeholder(seed: int) -> dict[str, Any]:
    """Fields of a stem whose audio nobody opens: unique hashes, no file."""
    return {
        "audio": f"stems/placeholder-{seed}.wav",
        "size_bytes": 1,
        "file_sha256": hashlib.sha256(f"file-{seed}-{uuid.uuid4()}".encode()).hexdigest(),
        "pcm_sha256": hashlib.sha256(f"pcm-{seed}-{uuid.uuid4()}".encode()).hexdigest(),
        "audio_format": "wav",
        "sample_rate": 48000,
        "channels": 1,
        "duration_s": 4.0,
        "_decoded": None,
    }


def passed_duplicate_check(stem: Any) -> list[tuple[str, str, str, dict[str, Any]]]:
    return [("exact_duplicate", stem.provenance_verdict, "No other stem has the same sound.", {})]


class StemFactory(DjangoModelFactory):
    """An approved stem whose audio is a synthesised loop of its role, bpm and key (see
    audio.role_loop), stored as a contributor's file would be, credited wholly to its artist.

    - `credits=[(user, split_bps), ...]`: who is credited; everyone but the uploader answers
      `credit_consent` (accepted unless told otherwise; the uploader's own share is accepted,
      as stem_submit records it).
    - `samples=`: any audio instead of the loop; `samples=None` stores no file at all.
    - `in_review=True`: waiting for a curator.
    - `checked=True`: with what provenance leaves for a curator: its checks (`checks=[(name,
      verdict, summary, evidence), ...]`, by default a passed duplicate check), the artist's
      contribution receipt and the analysis the review page shows.
    """

    class Meta:
        model = Stem

    class Params:
        in_review = factory.Trait(status=StemStatus.IN_REVIEW)
        checked = factory.Trait(checks=factory.LazyAttribute(passed_duplicate_check), receipt=True)

    artist = factory.SubFactory(UserFactory)
    submission = factory.SubFactory(SubmissionFactory, artist=factory.SelfAttribute("..artist"))
    seed = factory.Sequence(lambda n: n + 1)
    title = factory.LazyAttribute(lambda stem: f"{stem.role.title()} loop {stem.seed}")
    kind = StemKind.LOOP
    role = "drums"
    bpm: Any = 120.0
    bars = factory.LazyAttribute(lambda stem: 4 if stem.kind == StemKind.LOOP else None)
    musical_key = ""
    moods = factory.LazyFunction(list)
    genres = factory.LazyFunction(list)
    status = StemStatus.APPROVED
    provenance_verdict = Verdict.PASS
    sample_rate = audio.RATE
    samples = factory.LazyAttribute(
        lambda stem: audio.role_loop(
            role=stem.role,
            bpm=float(stem.bpm or 120.0),
            key=stem.musical_key,
            bars=stem.bars or 4,
            seed=stem.seed,
            rate=stem.sample_rate,
        )
    )
    original_filename = factory.LazyAttribute(lambda stem: f"{stem.role}-{stem.seed}.wav")
    credits: Any = None
    credit_consent = CreditConsent.ACCEPTED
    checks: Any = ()
    receipt = False

    @classmethod
    def _create(cls, model_class: type[Stem], *args: Any, **kwargs: Any) -> Stem:
        seed = kwargs.pop("seed")
        samples = kwargs.pop("samples")
        credits = kwargs.pop("credits") or [(kwargs["artist"], 10000)]
        consent = kwargs.pop("credit_consent")
        checks = kwargs.pop("checks")
        receipt = kwargs.pop("receipt")
        rate = kwargs.pop("sample_rate")
        fields = _placeholder(seed) if samples is None else _store(samples, rate)
        decoded = fields.pop("_decoded")
        if checks and decoded is not None and "analysis" not in kwargs:
            # What the review page shows of provenance's analysis (loudness as a figure).
            kwargs["analysis"] = {
                "duration_s": decoded.duration_s,
                "integrated_lufs": -14.2,
                "waveform_peaks": waveform_peaks(decoded.samples, 50),
            }
        stem = super()._create(model_class, *args, **{**fields, **kwargs})
        artist = stem.artist
        for credited, split_bps in credits:
            Credit.objects.create(
                stem=stem,
                artist=credited,
                split_bps=split_bps,
                consent=CreditConsent.ACCEPTED if credited.pk == artist.pk else consent,
            )
        for check_name, verdict, summary, evidence in checks:
            ProvenanceCheck.objects.create(
                stem=stem,
                check_name=check_name,
                verdict=verdict,
                summary=summary,
                evidence=evidence,
            )
        if receipt:
            ContributionReceipt.objects.create(
                stem=stem,
                body={
                    "account": artist.username,
                    "attested": ["made_it"],
                    "pcm_sha256": stem.pcm_sha256,
                },
            )
        return stem


def hit_stem(artist: Any, *, mood: str = "calm", seconds: float = 1.5, **fields: Any) -> Stem:
    """An approved hit one-shot (role fx): what the planner places on a hit point's sample."""
    seed = fields.pop("seed", None) or 900 + Stem.objects.count()
    return StemFactory(
        artist=artist,
        kind=StemKind.ONE_SHOT,
        role="fx",
        bpm=None,
        moods=[mood],
        samples=audio.impact(seconds=seconds, seed=seed),
        seed=seed,
        **fields,
    )


def vault_of(
    artist: Any, *, bpm: float = 120.0, key: str = "A minor", mood: str = "calm"
) -> list[Stem]:
    """A small balanced vault of `artist`'s: one stem per role group, all fitting together."""
    return [
        StemFactory(artist=artist, role="drums", bpm=bpm, moods=[mood]),
        StemFactory(artist=artist, role="bass", bpm=bpm, musical_key=key, moods=[mood]),
        StemFactory(artist=artist, role="harmony", bpm=bpm, musical_key=key, moods=[mood]),
        StemFactory(
            artist=artist,
            role="texture",
            bpm=None,
            kind=StemKind.FIELD_RECORDING,
            moods=[mood],
            bars=2,
        ),
    ]
