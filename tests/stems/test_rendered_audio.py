"""Rendered audio carries its own file name, so the stems domain never reads the mixes' rows."""

from __future__ import annotations

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from renderer.fingerprint import Fingerprint, fingerprint
from tests.factories.audio import RATE, encode, tone_loop


def test_an_old_format_render_fingerprint_is_recomputed_from_the_audio_name_on_its_row(db):
    from portal.stems.fingerprint_indexes import render_matches
    from portal.stems.models import RenderedAudio
    from portal.stems.services.rendered_audio import rendered_audio_register

    mix = ((tone_loop(20.0, seed=41, bpm=120) + tone_loop(20.0, seed=42, bpm=90)) * 0.5).astype(
        np.float32
    )
    name = default_storage.save("mixes/render-without-a-mix.wav", ContentFile(encode(mix)))
    # No Mix row exists for this key: the file name on the row is all the index may use.
    row = rendered_audio_register(
        key="mix:00000000-0000-0000-0000-000000000001",
        samples=mix,
        sample_rate=RATE,
        audio_name=name,
    )
    assert row.audio_name == name
    stale = b"XXXX" + bytes(row.fingerprint)[4:]  # a fingerprint format this engine refuses
    RenderedAudio.objects.filter(pk=row.pk).update(fingerprint=stale)

    matches = render_matches(fingerprint(mix, RATE))

    assert [r.pk for _, r in matches] == [row.pk]
    Fingerprint.from_bytes(bytes(RenderedAudio.objects.get(pk=row.pk).fingerprint))  # upgraded


def test_the_migration_fills_each_render_row_with_its_mix_file_and_leaves_the_rest(db, artist):
    import importlib

    from django.apps import apps

    from portal.mixes.models import RenderKind
    from portal.stems.models import RenderedAudio
    from tests.factories.mixes import MixFactory

    migration = importlib.import_module("portal.stems.migrations.0003_rendered_audio_name")
    mix = MixFactory(kind=RenderKind.SOUNDTRACK, requested_by=artist, with_file=True)
    rendered = RenderedAudio.objects.create(key=f"mix:{mix.pk}", fingerprint=b"", duration_s=1.0)
    orphan = RenderedAudio.objects.create(
        key="mix:00000000-0000-0000-0000-000000000002", fingerprint=b"", duration_s=1.0
    )

    migration.fill_from_mixes(apps, None)

    assert RenderedAudio.objects.get(pk=rendered.pk).audio_name == mix.audio.name
    assert RenderedAudio.objects.get(pk=orphan.pk).audio_name == ""


def test_rebuild_fingerprints_upgrades_every_older_format_row_once(db):
    from io import StringIO

    from django.core.management import call_command

    from portal.stems.models import RenderedAudio
    from portal.stems.services.rendered_audio import rendered_audio_register
    from renderer.fingerprint import FORMAT_VERSION

    mix = tone_loop(6.0, seed=43)
    name = default_storage.save("mixes/render-to-upgrade.wav", ContentFile(encode(mix)))
    stale_row = rendered_audio_register(
        key="mix:00000000-0000-0000-0000-000000000002",
        samples=mix,
        sample_rate=RATE,
        audio_name=name,
    )
    current_row = rendered_audio_register(
        key="mix:00000000-0000-0000-0000-000000000003",
        samples=mix,
        sample_rate=RATE,
        audio_name=name,
    )
    current = bytes(current_row.fingerprint)
    # Version 3's header: what the previous engine stored, and this one refuses to read.
    old = current[:4] + bytes([FORMAT_VERSION - 1]) + current[5:]
    RenderedAudio.objects.filter(pk=stale_row.pk).update(fingerprint=old)

    out = StringIO()
    call_command("rebuild_fingerprints", stdout=out)

    assert "rebuilt 0 stem and 1 render fingerprints" in out.getvalue()
    upgraded = bytes(RenderedAudio.objects.get(pk=stale_row.pk).fingerprint)
    assert upgraded[4] == FORMAT_VERSION
    assert np.array_equal(
        Fingerprint.from_bytes(upgraded).hashes, Fingerprint.from_bytes(current).hashes
    )
    again = StringIO()
    call_command("rebuild_fingerprints", stdout=again)
    assert "rebuilt 0 stem and 0 render fingerprints" in again.getvalue()
