"""Rows the portal benchmarks stand on: approved stems whose audio nobody opens (the royalty and
fraud benchmarks read only their ids, artists and credits). Imported inside a probe, once
Django is set up."""

from __future__ import annotations

from typing import Any


def license_for_bench() -> Any:
    """License version 1, the terms every bench submission accepts."""
    from portal.stems.models import LicenseTemplate

    return LicenseTemplate.objects.create(
        version=1, title="bench", terms="bench", terms_sha256="0" * 64
    )


def approved_stem(*, submission: Any, artist: Any, title: str, index: int) -> Any:
    """An approved 4 s drum loop credited wholly to `artist`; `index` makes its hashes unique."""
    from portal.stems.models import Credit, Stem, StemStatus

    stem = Stem.objects.create(
        submission=submission,
        artist=artist,
        title=title,
        kind="loop",
        role="drums",
        status=StemStatus.APPROVED,
        audio=f"bench/{index}.wav",
        original_filename="b.wav",
        size_bytes=1,
        file_sha256=f"{index:064x}",
        pcm_sha256=f"{index + 1_000_000:064x}",
        audio_format="wav",
        sample_rate=48000,
        channels=1,
        duration_s=4.0,
    )
    Credit.objects.create(stem=stem, artist=artist, split_bps=10_000)
    return stem
