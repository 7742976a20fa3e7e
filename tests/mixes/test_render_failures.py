"""A render job that fails leaves nothing behind, and a sparse preview still renders (issue 18,
item 5): the self-output index holds only renders that were stored and recorded."""

from __future__ import annotations

import math
from typing import Any

import pytest
from django.core.files.storage import default_storage

from portal.jobs.models import Job, JobStatus
from portal.mixes import rendering, services
from portal.mixes.models import Mix, MixStem, RenderStatus
from portal.stems.models import RenderedAudio, StemKind, StemStatus
from renderer.engine import RenderError
from tests.factories.audio import blip
from tests.factories.stems import StemFactory, vault_of
from tests.helpers.storage import mix_outputs

# A soundtrack of the vault's calm stems, with a hit point.
REQUEST = {"duration_s": 12, "mood": "calm", "hit_points": [4.0], "seed": 3}


def _requested(artist: Any) -> Mix:
    vault_of(artist)
    return services.soundtrack_request(user=artist, data=REQUEST)


def _nothing_left(mix: Mix) -> None:
    mix.refresh_from_db()
    assert not RenderedAudio.objects.filter(key=f"mix:{mix.pk}").exists()
    assert mix_outputs(mix.pk) == []
    assert mix.status != RenderStatus.DONE
    assert not mix.audio and mix.manifest in (None, {}) and not mix.audio_sha256
    assert not MixStem.objects.filter(mix=mix).exists()


def test_a_render_whose_file_cannot_be_stored_leaves_no_index_entry_and_no_file(
    artist: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    mix = _requested(artist)

    def full_disk(name: str, content: Any, max_length: int | None = None) -> str:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(default_storage, "save", full_disk)
    with pytest.raises(OSError, match="No space left"):
        rendering.mix_render(mix_id=mix.pk, progress=lambda percent: None)
    # Before: the render was fingerprinted into the self-output index before it was saved.
    _nothing_left(mix)


def test_a_render_failing_after_its_file_was_moved_into_place_leaves_nothing_behind(
    artist: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    mix = _requested(artist)

    def audit_down(**kwargs: Any) -> None:
        raise RuntimeError("audit log unavailable")

    # The last step of the recording transaction: the file is in place, the row saved and the
    # render registered by then, and all of it must go.
    monkeypatch.setattr(rendering, "audit_record", audit_down)
    with pytest.raises(RuntimeError, match="audit log unavailable"):
        rendering.mix_render(mix_id=mix.pk, progress=lambda percent: None)
    _nothing_left(mix)


def test_a_retry_after_a_failed_store_registers_the_render_once(
    artist: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    mix = _requested(artist)
    with monkeypatch.context() as patched:
        patched.setattr(rendering, "audit_record", lambda **kwargs: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            rendering.mix_render(mix_id=mix.pk, progress=lambda percent: None)
    rendering.mix_render(mix_id=mix.pk, progress=lambda percent: None)
    mix.refresh_from_db()
    assert mix.status == RenderStatus.DONE, mix.error
    assert mix_outputs(mix.pk) == [mix.audio.name]
    assert RenderedAudio.objects.filter(key=f"mix:{mix.pk}").count() == 1


def test_a_render_the_engine_refuses_fails_once_with_its_reason_and_leaves_nothing(
    artist: Any, run_jobs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    mix = _requested(artist)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise RenderError("the mix is silent (below the -70 LUFS absolute gate of BS.1770)")

    monkeypatch.setattr(rendering, "render", refuse)
    run_jobs()
    _nothing_left(mix)
    assert mix.status == RenderStatus.FAILED and "the mix is silent" in mix.error
    assert mix.job is not None
    job = Job.objects.get(pk=mix.job.pk)
    assert job.status == JobStatus.FAILED and job.error_code == "render_refused"
    assert job.attempts == 1  # the same plan would be refused again: not retried


def test_a_preview_of_a_very_short_one_shot_alone_renders_finite_audio_and_waveform(
    artist: Any, run_jobs: Any
) -> None:
    # An empty vault: the preview is the one-shot alone for 30 s, as in the issue.
    stem = StemFactory(
        artist=artist,
        kind=StemKind.ONE_SHOT,
        role="percussion",
        bpm=None,
        samples=blip(0.3),
        status=StemStatus.IN_REVIEW,
    )
    preview = services.mix_preview_request(stem=stem)
    run_jobs()
    preview.refresh_from_db()
    assert preview.status == RenderStatus.DONE, preview.error
    assert preview.loudness_lufs is not None and math.isfinite(preview.loudness_lufs)
    assert preview.true_peak_dbtp is not None and preview.true_peak_dbtp <= -1.0
    assert all(math.isfinite(v) for v in preview.waveform) and max(preview.waveform) > 0
    audio = preview.manifest["audio"]
    assert audio["loudness_lufs"] == preview.loudness_lufs
    assert audio["loudness_shortfall_lu"] > 0
    assert RenderedAudio.objects.filter(key=f"mix:{preview.pk}").count() == 1
