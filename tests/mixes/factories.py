"""Approved vault stems with real, synthesised audio in storage, for the mixes tests.

Each stem is a short loop of whole bars at its bpm (drums: noise bursts on the beats; bass,
harmony, melody: sines on the key's notes; texture: quiet noise), written as 16-bit WAV through
`default_storage`, so the render job reads it exactly as it reads uploaded stems (local disk or
S3). Rows are created directly: the contribution flow is another domain's business.
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

from portal.core.music import parse_key
from portal.stems.models import Credit, LicenseTemplate, Stem, StemStatus, Submission
from renderer.audio import load_audio, pcm_sha256

SAMPLE_RATE = 48000
_counter = itertools.count(1)
STORED: list[str] = []  # names written by this module; the tests' conftest removes them


def synthesise_loop(
    *, role: str, bpm: float, key: str = "", bars: int = 4, seed: int = 0, channels: int = 1
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    beat = 60.0 / bpm
    frames = round(bars * 4 * beat * SAMPLE_RATE)
    t = np.arange(frames) / SAMPLE_RATE
    out = np.zeros(frames)
    parsed = parse_key(key) or parse_key("A minor")
    assert parsed is not None
    root = 110.0 * 2 ** (((parsed.pitch - 9) % 12) / 12)  # the key's tonic around A2
    third = 2 ** ((3 if parsed.minor else 4) / 12)
    beat_frames = round(beat * SAMPLE_RATE)
    if role in ("drums", "percussion"):
        hit = int(0.06 * SAMPLE_RATE)
        envelope = np.exp(-np.arange(hit) / (0.012 * SAMPLE_RATE))
        step = beat_frames if role == "drums" else beat_frames // 2
        for start in range(0, frames - hit, step):
            out[start : start + hit] += 0.6 * envelope * rng.standard_normal(hit)
    elif role == "bass":
        for index, start in enumerate(range(0, frames, beat_frames)):
            note = root * (1.5 if index % 4 == 3 else 1.0)
            span = t[start : start + beat_frames] - t[start]
            out[start : start + beat_frames] = (
                0.5 * np.sin(2 * np.pi * note * span) * np.exp(-span * 3)
            )
    elif role in ("harmony", "melody", "vocals"):
        base = root * (4 if role == "melody" else 2)
        for ratio in (1.0, third, 1.5):
            out += 0.2 * np.sin(2 * np.pi * base * ratio * t + rng.uniform(0, np.pi))
        out *= 0.6 + 0.4 * np.sin(2 * np.pi * t / (4 * beat)) ** 2
    else:
        out = 0.1 * rng.standard_normal(frames)
    out *= rng.uniform(0.7, 1.0)  # no two stems share a PCM hash (the column is unique)
    fade = min(256, frames // 4)
    out[:fade] *= np.linspace(0, 1, fade)
    out[-fade:] *= np.linspace(1, 0, fade)
    samples = np.repeat(out[:, None], channels, axis=1)
    return np.clip(samples, -0.95, 0.95).astype(np.float32)


def wav_bytes(samples: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, SAMPLE_RATE, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def license_template() -> LicenseTemplate:
    terms = "Test license: render in Stemvault mixes; royalties per play."
    template, _ = LicenseTemplate.objects.get_or_create(
        version=1,
        defaults={
            "title": "Stemvault test license",
            "terms": terms,
            "terms_sha256": hashlib.sha256(terms.encode()).hexdigest(),
        },
    )
    return template


def make_stem(
    artist: Any,
    *,
    role: str = "drums",
    bpm: float | None = 120.0,
    key: str = "",
    moods: list[str] | None = None,
    status: str = StemStatus.APPROVED,
    bars: int = 4,
    kind: str = "loop",
    title: str | None = None,
    credits: list[tuple[Any, int]] | None = None,
) -> Stem:
    number = next(_counter)
    samples = synthesise_loop(role=role, bpm=bpm or 120.0, key=key, bars=bars, seed=number)
    data = wav_bytes(samples)
    name = default_storage.save(f"stems/test/{uuid.uuid4().hex}.wav", ContentFile(data))
    STORED.append(name)
    submission = Submission.objects.create(
        artist=artist, license=license_template(), attestations={"human_made": True}
    )
    stem = Stem.objects.create(
        submission=submission,
        artist=artist,
        title=title or f"{role.title()} loop {number}",
        kind=kind,
        role=role,
        bpm=bpm,
        bars=bars,
        musical_key=key,
        moods=moods or [],
        status=status,
        audio=name,
        original_filename=f"{role}-{number}.wav",
        size_bytes=len(data),
        file_sha256=hashlib.sha256(data).hexdigest(),
        pcm_sha256=pcm_sha256(load_audio(data)),
        audio_format="WAV",
        sample_rate=SAMPLE_RATE,
        channels=samples.shape[1],
        duration_s=samples.shape[0] / SAMPLE_RATE,
    )
    for credited, split_bps in credits or [(artist, 10000)]:
        Credit.objects.create(stem=stem, artist=credited, split_bps=split_bps, consent="accepted")
    return stem


def make_vault(
    artist: Any, *, bpm: float = 120.0, key: str = "A minor", mood: str = "calm"
) -> list[Stem]:
    """A small balanced vault: one stem per role group, all fitting together."""
    return [
        make_stem(artist, role="drums", bpm=bpm, moods=[mood]),
        make_stem(artist, role="bass", bpm=bpm, key=key, moods=[mood]),
        make_stem(artist, role="harmony", bpm=bpm, key=key, moods=[mood]),
        make_stem(artist, role="texture", bpm=None, kind="field-recording", moods=[mood], bars=2),
    ]


def make_done_mix(*, kind: str, requested_by: Any = None, preview_of: Any = None) -> Any:
    """A finished mix row with a small stored file, for tests about access rather than audio."""
    from portal.mixes.models import Mix, RenderStatus

    mix = Mix.objects.create(
        kind=kind,
        requested_by=requested_by,
        preview_of=preview_of,
        request={"duration_s": 1, "mood": "calm"},
        status=RenderStatus.DONE,
        audio_format="wav",
        audio_sha256="0" * 64,
        duration_s=1.0,
        manifest={"render_id": "placeholder", "attribution": {"seconds": []}, "stems": []},
    )
    name = default_storage.save(
        f"mixes/{mix.pk}.wav", ContentFile(wav_bytes(np.zeros((4800, 1), np.float32)))
    )
    STORED.append(name)
    mix.audio.name = name
    mix.save(update_fields=["audio"])
    return mix
