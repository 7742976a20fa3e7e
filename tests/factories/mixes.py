"""Mixes (soundtracks and previews) as rows, for tests about who may see, download and earn
from them rather than about rendering: the render tests request mixes and run the real job."""

from __future__ import annotations

from typing import Any

import factory
import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from factory.django import DjangoModelFactory

from portal.mixes.models import Mix, RenderKind, RenderStatus
from tests.factories import audio
from tests.factories.stems import STORED


class MixFactory(DjangoModelFactory):
    """A finished soundtrack with a placeholder manifest.

    - `with_file=True`: a small stored WAV (0.1 s of silence) as its audio, for downloads.
    - `created_at=`: when it was requested (auto_now_add otherwise sets it to the clock's now).
    """

    class Meta:
        model = Mix

    kind = RenderKind.SOUNDTRACK
    status = RenderStatus.DONE
    request = factory.LazyFunction(lambda: {"duration_s": 1, "mood": "calm"})
    duration_s = 1.0
    duration_ms = factory.LazyAttribute(lambda mix: round(mix.duration_s * 1000))
    manifest = factory.LazyFunction(
        lambda: {"render_id": "placeholder", "attribution": {"seconds": []}, "stems": []}
    )
    with_file = False
    created_at = None

    @classmethod
    def _create(cls, model_class: type[Mix], *args: Any, **kwargs: Any) -> Mix:
        with_file = kwargs.pop("with_file")
        created_at = kwargs.pop("created_at")
        mix = super()._create(model_class, *args, **kwargs)
        if created_at is not None:
            Mix.objects.filter(pk=mix.pk).update(created_at=created_at)  # auto_now_add on create
            mix.created_at = created_at
        if with_file:
            silence = audio.encode(np.zeros((4800, 1), np.float32), subtype="PCM_16")
            name = default_storage.save(f"mixes/{mix.pk}.wav", ContentFile(silence))
            STORED.append(name)
            mix.audio.name = name
            mix.audio_format = "wav"
            mix.audio_sha256 = "0" * 64
            mix.save(update_fields=["audio", "audio_format", "audio_sha256"])
        return mix
