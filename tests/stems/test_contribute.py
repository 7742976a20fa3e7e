"""stem_submit: what a contribution stores, and that bad input leaves no row and no file."""

from __future__ import annotations

import contextlib
import io
import struct
import threading
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from portal.audit.models import AuditEntry
from portal.core.errors import ApplicationError
from portal.jobs.models import Job
from portal.stems.models import Stem, StemStatus
from tests.factories.audio import RATE, encode, tone_loop
from tests.factories.contributions import ATTESTED, meta, raw_named, upload
from tests.helpers.storage import nothing_left_behind, stored_files


def test_a_contribution_stores_the_audio_privately_under_a_generated_name(artist, submit):
    data = encode(tone_loop(seed=1))
    (stem,) = submit(artist, upload(data, "My Song (final).wav"))
    assert stem.status == StemStatus.PROCESSING
    assert stem.original_filename == "My Song (final).wav"
    assert stem.audio.name.startswith("stems/") and stem.audio.name.endswith(".wav")
    assert "My Song" not in stem.audio.name
    assert stored_files() == [stem.audio.name]
    from django.core.files.storage import default_storage

    with default_storage.open(stem.audio.name, "rb") as handle:
        assert handle.read() == data
    assert stem.audio_format == "WAV"
    assert (stem.sample_rate, stem.channels) == (RATE, 2)
    assert stem.duration_s == pytest.approx(4.0)
    assert stem.size_bytes == len(data)


def test_the_extension_comes_from_the_content_not_the_client_name(artist, submit):
    (stem,) = submit(artist, upload(encode(tone_loop(seed=2), fmt="FLAC"), "looks-like.wav"))
    assert stem.audio_format == "FLAC"
    assert stem.audio.name.endswith(".flac")


def test_a_contribution_records_credits_in_basis_points_and_a_receipt(artist, other_artist, submit):
    (stem,) = submit(
        artist,
        upload(encode(tone_loop(seed=3))),
        credits=[
            {"artist": artist.username, "split_percent": Decimal("66.67")},
            {"artist": other_artist, "split_percent": Decimal("33.33")},
        ],
    )
    splits = dict(stem.credits.values_list("artist__username", "split_bps"))
    assert splits == {artist.username: 6667, other_artist.username: 3333}
    body = stem.receipt.body
    assert body["stem"]["id"] == stem.pk and body["stem"]["title"] == "Warm pluck"
    assert body["account"] == {
        "id": artist.pk,
        "username": artist.username,
        "display_name": artist.display_name,
    }
    assert body["ip_address"] == "203.0.113.7"
    assert body["audio"] == {"file_sha256": stem.file_sha256, "pcm_sha256": stem.pcm_sha256}
    assert body["license"]["version"] == 1
    assert body["license"]["terms_sha256"] == stem.submission.license.terms_sha256
    attested = {a["key"]: a for a in body["attestations"]}
    assert set(attested) == set(ATTESTED)
    assert all(a["value"] for a in attested.values())
    assert "not generated" in attested["not_ai_generated"]["statement"]
    assert "version 1" in attested["accepts_terms_version"]["statement"]
    assert body["submitted_at"].startswith(str(stem.submission.created_at.year))


def test_a_contribution_enqueues_provenance_and_audits_the_submission(artist, submit):
    (stem,) = submit(artist, upload(encode(tone_loop(seed=4))))
    job = Job.objects.get(pk=stem.provenance_job_id)
    assert job.kind == "stems.provenance" and job.args == {"stem_id": stem.pk}
    assert job.owner_id == artist.pk
    entry = AuditEntry.objects.get(action="stem.submitted")
    assert entry.subject == f"stem:{stem.pk}"
    assert entry.actor_id == artist.pk


def test_several_files_become_several_stems_in_one_submission(artist, submit):
    stems = submit(
        artist,
        upload(encode(tone_loop(seed=5)), "a.wav"),
        upload(encode(tone_loop(seed=6), fmt="FLAC"), "b.flac"),
        metadata=[meta(title="A"), meta(title="B", kind="loop", bpm="120", bars=2)],
    )
    assert [s.title for s in stems] == ["A", "B"]
    assert stems[0].submission_id == stems[1].submission_id
    assert stems[1].bpm == Decimal("120.00") and stems[1].bars == 2
    assert len(stored_files()) == 2


# --- Refusals: each says what is wrong and leaves nothing behind -------------------------------


def _wav_with_lying_data_size() -> bytes:
    raw = bytearray(encode(tone_loop(seed=7), subtype="PCM_16"))
    at = raw.index(b"data")
    size = struct.unpack_from("<I", raw, at + 4)[0]
    struct.pack_into("<I", raw, at + 4, size + 48000)  # the RIFF size still matches the file
    return bytes(raw)


def _lossy(fmt: str, subtype: str) -> bytes:
    return encode(tone_loop(seed=8), RATE, fmt=fmt, subtype=subtype)


def _nan_wav() -> bytes:
    samples = tone_loop(seed=9)
    samples[1000:1010] = np.nan
    samples[2000] = np.inf
    return encode(samples, subtype="FLOAT")


BAD_FILES = {
    "empty": (lambda: b"", "empty", "empty"),
    "not_audio": (lambda: b"%PDF-1.7 definitely not audio " * 200, "not_audio", "not audio"),
    "truncated": (lambda: encode(tone_loop(seed=10))[:60_000], "truncated", "cut short"),
    "header_lies": (_wav_with_lying_data_size, "header_mismatch", "promises"),
    "nan_samples": (_nan_wav, "non_finite", "NaN"),
    "low_rate": (
        lambda: encode(tone_loop(seed=11, rate=22050), rate=22050),
        "sample_rate",
        "22050 Hz",
    ),
    "too_high_rate": (
        lambda: encode(tone_loop(0.5, seed=11, rate=384000), rate=384000, fmt="WAV"),
        "sample_rate",
        "384000 Hz",
    ),
    "three_channels": (
        lambda: encode(np.concatenate([tone_loop(seed=12), tone_loop(seed=13)[:, :1]], axis=1)),
        "too_many_channels",
        "3 channels",
    ),
    "silence": (lambda: encode(np.zeros((RATE * 2, 2), np.float32)), "silent", "silence"),
    "mp3": (lambda: _lossy("MP3", "MPEG_LAYER_III"), "lossy_format", "Lossy"),
    "ogg": (lambda: _lossy("OGG", "VORBIS"), "lossy_format", "Lossy"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_audio_is_refused_with_a_clear_error_and_leaves_nothing(artist, submit, case):
    make, code, words = BAD_FILES[case]
    before = stored_files()
    with pytest.raises(ApplicationError) as caught:
        submit(artist, upload(make(), "take.wav"))
    assert caught.value.code == code
    assert words.lower() in caught.value.message.lower()
    nothing_left_behind(before)


def test_a_duration_outside_the_kinds_limits_is_refused(artist, submit):
    before = stored_files()
    with pytest.raises(ApplicationError) as caught:
        submit(artist, upload(encode(tone_loop(12.0, seed=14))), metadata=[meta(kind="one-shot")])
    assert caught.value.code == "duration"
    assert "one-shot must last" in caught.value.message and "12.00 s" in caught.value.message
    nothing_left_behind(before)


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(artist, submit, settings):
    settings.STEM_MAX_UPLOAD_BYTES = 50_000
    before = stored_files()
    with pytest.raises(ApplicationError) as caught:
        submit(artist, upload(encode(tone_loop(seed=15))))
    assert caught.value.code == "too_large" and caught.value.status == 413
    assert "0.1 MB limit" in caught.value.message
    nothing_left_behind(before)


@pytest.mark.parametrize("name", ["../../etc/evil.wav", "dir\\evil.wav", "evil\x00.wav"])
def test_file_names_with_path_separators_or_nul_bytes_are_refused(artist, submit, name):
    before = stored_files()
    with pytest.raises(ApplicationError) as caught:
        submit(artist, raw_named(encode(tone_loop(seed=16)), name))
    assert caught.value.code == "bad_filename"
    nothing_left_behind(before)


def test_one_bad_file_among_several_refuses_the_whole_submission(artist, submit):
    before = stored_files()
    with pytest.raises(ApplicationError) as caught:
        submit(
            artist,
            upload(encode(tone_loop(seed=17)), "good.wav"),
            upload(b"", "empty.wav"),
            metadata=[meta(), meta()],
        )
    assert "'empty.wav'" in caught.value.message
    nothing_left_behind(before)


@pytest.mark.parametrize(
    ("credits", "words"),
    [
        ([("self", "60"), ("other", "30")], "add up to 90.00%"),
        ([("self", "60"), ("other", "40.01")], "add up to 100.01%"),
        ([("self", "33.333"), ("other", "66.667")], "more than 2 decimals"),
        ([("self", "100"), ("nobody", "0")], "not a registered artist"),
        ([("self", "50"), ("self", "50")], "credited twice"),
        ([("self", "50"), ("curator", "50")], "not a registered artist"),
    ],
)
def test_credits_must_name_registered_artists_and_sum_to_exactly_100(
    artist, other_artist, curator, submit, credits, words
):
    names = {"self": artist.username, "other": other_artist.username, "curator": curator.username}
    before = stored_files()
    with pytest.raises(ApplicationError) as caught:
        submit(
            artist,
            upload(encode(tone_loop(seed=18))),
            credits=[{"artist": names.get(n, n), "split_percent": Decimal(p)} for n, p in credits],
        )
    assert words in caught.value.message
    assert "credits" in (caught.value.fields or {})
    nothing_left_behind(before)


@pytest.mark.parametrize(
    "missing",
    [
        "made_it_and_holds_rights",
        "no_uncleared_samples",
        "not_ai_generated",
        "accepts_terms_version",
    ],
)
def test_every_attestation_is_required(artist, submit, missing):
    attestations = {**ATTESTED, missing: False if missing != "accepts_terms_version" else None}
    before = stored_files()
    with pytest.raises(ApplicationError) as caught:
        submit(artist, upload(encode(tone_loop(seed=19))), attestations=attestations)
    assert caught.value.code == "attestation_missing"
    assert missing in (caught.value.fields or {})
    nothing_left_behind(before)


def test_accepting_another_license_version_than_the_chosen_one_is_refused(artist, submit):
    with pytest.raises(ApplicationError) as caught:
        submit(
            artist,
            upload(encode(tone_loop(seed=20))),
            attestations={**ATTESTED, "accepts_terms_version": 2},
        )
    assert "license version 1" in caught.value.message


def test_an_unknown_license_version_is_refused(artist, submit):
    with pytest.raises(ApplicationError) as caught:
        submit(
            artist,
            upload(encode(tone_loop(seed=21))),
            license_version=9,
            attestations={**ATTESTED, "accepts_terms_version": 9},
        )
    assert caught.value.code == "no_license"


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"title": " "}, "title"),
        ({"kind": "symphony"}, "kind"),
        ({"role": "kazoo"}, "role"),
        ({"kind": "loop", "bpm": None, "bars": 4}, "bpm"),
        ({"kind": "loop", "bpm": "120", "bars": None}, "bars"),
        ({"bpm": "900"}, "bpm"),
        ({"musical_key": "H minor"}, "musical_key"),
        ({"moods": [f"mood{i}" for i in range(11)]}, "moods"),
    ],
)
def test_bad_metadata_names_the_field_to_fix(artist, submit, override, field):
    before = stored_files()
    with pytest.raises(ApplicationError) as caught:
        submit(artist, upload(encode(tone_loop(seed=22))), metadata=[meta(**override)])
    assert field in (caught.value.fields or {})
    nothing_left_behind(before)


@pytest.mark.parametrize("written", ["A minor", "F♯m", "bb major", "C"])
def test_a_key_the_planner_can_read_is_accepted_as_the_artist_wrote_it(artist, submit, written):
    # One grammar for stems and soundtrack requests: a key the planner matches on is never
    # refused at contribution.
    (stem,) = submit(
        artist, upload(encode(tone_loop(seed=25))), metadata=[meta(musical_key=written)]
    )
    stem.refresh_from_db()
    assert stem.musical_key == written


def test_curators_cannot_contribute(curator, submit):
    with pytest.raises(ApplicationError) as caught:
        submit(curator, upload(encode(tone_loop(seed=23))))
    assert caught.value.status == 403


# --- Duplicates --------------------------------------------------------------------------------


def test_the_same_pcm_rewrapped_as_flac_is_refused_naming_when_it_was_submitted(
    artist, other_artist, submit
):
    wav = encode(tone_loop(seed=24), subtype="PCM_24")
    (first,) = submit(other_artist, upload(wav, "orig.wav"))
    # Re-wrap losslessly, as a converter would: the same integer samples in a FLAC container.
    pcm, rate = sf.read(io.BytesIO(wav), dtype="int32")
    flac = encode(pcm, rate, fmt="FLAC")
    assert flac != wav
    before = stored_files()
    with pytest.raises(ApplicationError) as caught:
        submit(artist, upload(flac, "renamed.flac"))
    assert caught.value.status == 409 and caught.value.code == "duplicate"
    assert "already submitted by another artist" in caught.value.message
    assert f"{first.created_at:%Y-%m-%d}" in caught.value.message
    assert Stem.objects.count() == 1 and stored_files() == before


def test_resubmitting_my_own_file_names_my_earlier_stem(artist, submit):
    data = encode(tone_loop(seed=25))
    (first,) = submit(artist, upload(data))
    with pytest.raises(ApplicationError) as caught:
        submit(artist, upload(data))
    assert f"stem #{first.pk}" in caught.value.message and "by you" in caught.value.message


def test_a_duplicate_withdrawn_stem_still_blocks_the_same_audio(artist, submit):
    from portal.stems.services.lifecycle import stem_withdraw

    data = encode(tone_loop(seed=26))
    (first,) = submit(artist, upload(data))
    stem_withdraw(stem=first, actor=artist)
    with pytest.raises(ApplicationError) as caught:
        submit(artist, upload(data))
    assert caught.value.code == "duplicate"


def test_the_loser_of_a_duplicate_race_gets_the_duplicate_error_and_leaves_no_file(
    artist, submit, monkeypatch
):
    """Both uploads passed the pre-check; the unique constraint lets only one row in."""
    from portal.stems.services import submission

    data = encode(tone_loop(seed=27))
    submit(artist, upload(data))
    before = stored_files()
    real = submission._existing_duplicate
    calls = {"n": 0}

    def blind_first_time(hashes: Any) -> Any:
        calls["n"] += 1
        return None if calls["n"] == 1 else real(hashes)

    monkeypatch.setattr(submission, "_existing_duplicate", blind_first_time)
    with pytest.raises(ApplicationError) as caught:
        submit(artist, upload(data))
    assert caught.value.code == "duplicate" and caught.value.status == 409
    assert Stem.objects.count() == 1
    assert stored_files() == before


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_uploads_of_one_file_let_exactly_one_in(artist, monkeypatch):
    from django.db import connection

    from portal.stems.services import licenses, submission

    licenses.license_template_publish(version=1, title="v1", terms="terms")
    data = encode(tone_loop(seed=28))
    barrier = threading.Barrier(2, timeout=20)
    real = submission._existing_duplicate
    waited = threading.local()

    def both_check_before_either_writes(hashes: Any) -> Any:
        result = real(hashes)
        if not getattr(waited, "done", False):
            waited.done = True
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait()
        return result

    monkeypatch.setattr(submission, "_existing_duplicate", both_check_before_either_writes)
    outcomes: list[Any] = []

    def contribute() -> None:
        try:
            outcomes.append(
                submission.stem_submit(
                    artist=artist,
                    files=[upload(data)],
                    metadata=[meta()],
                    credits=None,
                    license_version=1,
                    attestations=dict(ATTESTED),
                    ip_address="198.51.100.1",
                )
            )
        except ApplicationError as exc:
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=contribute, name=f"upload-{i}") for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not barrier.broken  # both really passed the check before either wrote
    errors = [o for o in outcomes if isinstance(o, ApplicationError)]
    assert len(outcomes) == 2 and len(errors) == 1
    assert errors[0].code == "duplicate" and errors[0].status == 409
    assert Stem.objects.count() == 1
    assert stored_files() == [Stem.objects.get().audio.name]
