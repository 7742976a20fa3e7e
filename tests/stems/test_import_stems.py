"""manage.py import_stems: every file through the same pipeline, each outcome reported."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from portal.stems.models import Stem
from tests.factories.audio import encode, tone_loop
from tests.helpers.storage import stored_files


def test_it_imports_the_good_files_and_reports_the_bad_ones(artist, license_v1, tmp_path):
    folder = tmp_path / "pack"
    folder.mkdir()
    (folder / "bass_line.wav").write_bytes(encode(tone_loop(seed=90)))
    (folder / "notes.txt").write_text("not audio at all")
    (folder / "cut.wav").write_bytes(encode(tone_loop(seed=91))[:30_000])
    out = io.StringIO()
    call_command(
        "import_stems", str(folder), "--artist", artist.username, "--license", "1", stdout=out
    )
    report = out.getvalue()
    stem = Stem.objects.get()
    assert f"accepted bass_line.wav: stem {stem.pk} (one-shot, bass)" in report
    assert "refused  notes.txt: 'notes.txt': This file is not audio" in report
    assert "refused  cut.wav: 'cut.wav': The WAV data chunk promises" in report
    assert "1 accepted, 2 refused." in report
    assert stem.artist == artist and stem.receipt.body["ip_address"] is None
    assert stored_files() == [stem.audio.name]


def test_it_fails_when_nothing_was_accepted(artist, license_v1, tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    out = io.StringIO()
    with pytest.raises(CommandError, match="No file was accepted"):
        call_command(
            "import_stems", str(tmp_path), "--artist", artist.username, "--license", "1", stdout=out
        )
    assert "refused  empty.wav" in out.getvalue()


def test_loops_need_their_tempo(artist, license_v1, tmp_path):
    (tmp_path / "loop.wav").write_bytes(encode(tone_loop(seed=92)))
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command(
            "import_stems",
            str(tmp_path),
            "--artist",
            artist.username,
            "--license",
            "1",
            "--kind",
            "loop",
            stdout=out,
        )
    assert "needs its tempo" in out.getvalue()
    call_command(
        "import_stems",
        str(tmp_path),
        "--artist",
        artist.username,
        "--license",
        "1",
        "--kind",
        "loop",
        "--bpm",
        "120",
        "--bars",
        "2",
        "--role",
        "melody",
        stdout=out,
    )
    assert Stem.objects.get().bpm == 120
