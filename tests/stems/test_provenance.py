"""Provenance checks on real audio: each catches its case and passes clean audio."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from portal.stems.models import CheckName, ProvenanceCheck, Stem, StemStatus, Verdict
from tests.factories.audio import (
    RATE,
    encode,
    melody,
    mp3_round_trip_wav,
    tone_loop,
    with_riff_info,
)
from tests.factories.contributions import meta, upload


def checks(stem: Stem) -> dict[str, ProvenanceCheck]:
    return {c.check_name: c for c in ProvenanceCheck.objects.filter(stem=stem)}


def processed(stem: Stem, run_jobs: Any) -> Stem:
    run_jobs()
    stem.refresh_from_db()
    return stem


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def test_clean_audio_passes_every_check_and_goes_to_review(artist, other_artist, submit, run_jobs):
    submit(other_artist, upload(encode(tone_loop(seed=30))))
    run_jobs()
    (stem,) = submit(artist, upload(encode(tone_loop(seed=31, bpm=97))))
    stem = processed(stem, run_jobs)
    assert stem.status == StemStatus.IN_REVIEW
    assert stem.provenance_verdict == Verdict.PASS
    found = checks(stem)
    assert set(found) == set(CheckName.values)
    assert {c.verdict for c in found.values()} == {Verdict.PASS}
    assert found[CheckName.EXACT_DUPLICATE].evidence["compared"] == 1
    assert found[CheckName.NEAR_DUPLICATE].evidence["compared"] >= 1
    assert all(c.summary.endswith(".") for c in found.values())
    # The analysis and fingerprint are stored on the stem.
    assert stem.analysis["duration_s"] == pytest.approx(4.0)
    assert len(stem.analysis["waveform_peaks"]) == 200
    assert stem.analysis["pcm_sha256"] == stem.pcm_sha256
    assert stem.fingerprint


def test_provenance_reports_progress_and_its_result_on_the_job(artist, submit, run_jobs):
    (stem,) = submit(artist, upload(encode(tone_loop(seed=32))))
    run_jobs()
    job = stem.provenance_job
    job.refresh_from_db()
    assert job.status == "done" and job.progress == 100
    assert job.result["status"] == StemStatus.IN_REVIEW
    assert job.result["checks"][CheckName.SELF_OUTPUT] == Verdict.PASS


# --- Near duplicates ---------------------------------------------------------------------------


def test_a_pitched_copy_of_another_artists_stem_is_flagged_as_that_stem_not_refused(
    artist, other_artist, submit, run_jobs
):
    def take(pitch: float) -> np.ndarray:
        mono = melody(10.0, seed=45, pitch=pitch)
        return np.repeat(mono * np.float32(0.4 / np.max(np.abs(mono))), 2, axis=1)

    (first,) = submit(other_artist, upload(encode(take(1.0))))
    run_jobs()
    (copy,) = submit(artist, upload(encode(take(2 ** (2 / 12))), "higher.wav"))
    copy = processed(copy, run_jobs)
    near = checks(copy)[CheckName.NEAR_DUPLICATE]
    # Found under a key two semitones up; no waveform test can second that, so curators judge.
    assert near.verdict == Verdict.FLAG
    match = near.evidence["matches"][0]
    assert match["stem_id"] == first.pk and match["conclusive"] is False
    assert match["pitch"] == pytest.approx(2 ** (2 / 12), rel=0.01) and match["tempo"] == 1.0
    assert "pitched +2.00 semitones" in near.summary
    assert copy.status == StemStatus.IN_REVIEW and copy.provenance_verdict == Verdict.FLAG


def test_an_mp3_round_trip_of_another_artists_stem_fails(artist, other_artist, submit, run_jobs):
    original = tone_loop(8.0, seed=33)
    (first,) = submit(other_artist, upload(encode(original)))
    run_jobs()
    (copy,) = submit(artist, upload(mp3_round_trip_wav(original, RATE), "mine.wav"))
    copy = processed(copy, run_jobs)
    near = checks(copy)[CheckName.NEAR_DUPLICATE]
    assert near.verdict == Verdict.FAIL
    match = near.evidence["matches"][0]
    assert match["stem_id"] == first.pk and match["same_artist"] is False
    assert match["explained_share"] >= 0.8
    assert copy.status == StemStatus.REJECTED
    assert copy.provenance_verdict == Verdict.FAIL
    # The artist reads the reason; the other artist's stem (not in the vault) stays unnamed.
    assert "matches a stem already submitted to the vault" in copy.rejection_reason
    assert f"#{first.pk}" not in copy.rejection_reason


@pytest.mark.corpus
def test_an_mp3_round_trip_of_a_corpus_recording_already_submitted_fails(
    artist, other_artist, submit, run_jobs, corpus_dir: Path
):
    source = corpus_dir / "loop_amen_full.flac"
    (first,) = submit(other_artist, upload(source.read_bytes(), "amen.flac"))
    run_jobs()
    samples, rate = sf.read(source, dtype="float32", always_2d=True)
    (copy,) = submit(artist, upload(mp3_round_trip_wav(samples, rate), "break.wav"))
    copy = processed(copy, run_jobs)
    near = checks(copy)[CheckName.NEAR_DUPLICATE]
    assert near.verdict == Verdict.FAIL
    assert near.evidence["matches"][0]["stem_id"] == first.pk
    assert copy.status == StemStatus.REJECTED


@pytest.mark.corpus
def test_unrelated_corpus_recordings_pass_the_near_duplicate_check(
    artist, other_artist, submit, run_jobs, corpus_dir: Path
):
    for name in ("loop_tabla", "ambi_haunted_hum", "arovane_beat_d"):
        submit(other_artist, upload((corpus_dir / f"{name}.flac").read_bytes(), f"{name}.flac"))
    run_jobs()
    (stem,) = submit(artist, upload((corpus_dir / "loop_garzul.flac").read_bytes(), "g.flac"))
    stem = processed(stem, run_jobs)
    assert checks(stem)[CheckName.NEAR_DUPLICATE].verdict == Verdict.PASS
    assert checks(stem)[CheckName.NEAR_DUPLICATE].evidence["compared"] == 3


def test_a_near_copy_of_my_own_earlier_stem_is_flagged_not_failed(artist, submit, run_jobs):
    original = tone_loop(8.0, seed=34)
    (first,) = submit(artist, upload(encode(original)))
    run_jobs()
    quieter = original * 10 ** (-9 / 20)  # 9 dB down, a different file and PCM
    (second,) = submit(artist, upload(encode(quieter), "again.wav"))
    second = processed(second, run_jobs)
    near = checks(second)[CheckName.NEAR_DUPLICATE]
    assert near.verdict == Verdict.FLAG
    assert near.evidence["matches"][0]["stem_id"] == first.pk
    assert near.evidence["matches"][0]["same_artist"] is True
    assert second.status == StemStatus.IN_REVIEW
    assert second.provenance_verdict == Verdict.FLAG


def _check(stem: Stem) -> Stem:
    """Run this stem's provenance job now, whatever else is queued."""
    from portal.jobs.services import job_execute

    job_execute(stem.provenance_job_id)
    stem.refresh_from_db()
    return stem


@pytest.mark.parametrize("checked_first", ["the earlier upload", "the later upload"])
def test_the_earlier_of_two_copies_is_the_original_whichever_check_runs_first(
    artist, other_artist, submit, checked_first
):
    from portal.audit.models import AuditEntry

    original = tone_loop(8.0, seed=42)
    (earlier,) = submit(other_artist, upload(encode(original)))
    (later,) = submit(artist, upload(mp3_round_trip_wav(original, RATE), "mine.wav"))
    if checked_first == "the later upload":
        # Its check cannot see the earlier upload yet (not fingerprinted): it passes, for now.
        assert _check(later).status == StemStatus.IN_REVIEW
    earlier = _check(earlier)
    later = (
        _check(later) if checked_first == "the earlier upload" else Stem.objects.get(pk=later.pk)
    )

    assert earlier.status == StemStatus.IN_REVIEW and earlier.provenance_verdict == Verdict.PASS
    assert checks(earlier)[CheckName.NEAR_DUPLICATE].verdict == Verdict.PASS
    assert earlier.rejection_reason == ""
    near = checks(later)[CheckName.NEAR_DUPLICATE]
    assert near.verdict == Verdict.FAIL
    assert [m["stem_id"] for m in near.evidence["matches"]] == [earlier.pk]
    assert later.status == StemStatus.REJECTED and later.provenance_verdict == Verdict.FAIL
    assert "matches a stem already submitted to the vault" in later.rejection_reason
    rejudged = AuditEntry.objects.filter(stem=later, action="stem.provenance_rejudged")
    assert rejudged.count() == (1 if checked_first == "the later upload" else 0)


def test_a_later_near_copy_of_my_own_stem_checked_first_is_flagged_when_the_earlier_is_checked(
    artist, submit
):
    original = tone_loop(8.0, seed=43)
    (earlier,) = submit(artist, upload(encode(original)))
    (later,) = submit(artist, upload(encode(original * 10 ** (-9 / 20)), "again.wav"))
    assert _check(later).provenance_verdict == Verdict.PASS
    earlier = _check(earlier)
    later.refresh_from_db()
    assert earlier.provenance_verdict == Verdict.PASS
    assert later.status == StemStatus.IN_REVIEW and later.provenance_verdict == Verdict.FLAG
    near = checks(later)[CheckName.NEAR_DUPLICATE]
    assert near.verdict == Verdict.FLAG and near.evidence["matches"][0]["stem_id"] == earlier.pk


# --- Containment -------------------------------------------------------------------------------


def _approve(stem: Stem, curator: Any) -> None:
    from portal.stems.services.lifecycle import stem_transition

    stem_transition(stem=stem, to=StemStatus.APPROVED, actor=curator)


def _layered(vault: np.ndarray, at_s: float) -> np.ndarray:
    other = tone_loop(10.0, seed=99, bpm=137)
    other *= rms(vault) / rms(other)  # equal level
    start = round(at_s * RATE)
    other[start : start + vault.shape[0]] += vault
    return other * (0.9 / float(np.max(np.abs(other))))


def test_a_vault_stem_layered_under_other_sound_is_flagged_with_the_stem_and_offset(
    artist, other_artist, curator, submit, run_jobs
):
    vault = tone_loop(6.0, seed=35, bpm=100)
    (vault_stem,) = submit(other_artist, upload(encode(vault)))
    run_jobs()
    _approve(vault_stem, curator)
    (stem,) = submit(artist, upload(encode(_layered(vault, 2.5)), "layers.wav"))
    stem = processed(stem, run_jobs)
    found = checks(stem)
    contained = found[CheckName.CONTAINMENT]
    assert contained.verdict == Verdict.FLAG
    evidence = contained.evidence["matches"][0]
    assert evidence["stem_id"] == vault_stem.pk
    assert evidence["upload_offset_s"] == pytest.approx(2.5, abs=0.05)
    assert f"#{vault_stem.pk}" in contained.summary
    # A layer is not a copy: the stem goes to curators with the evidence, it is not rejected.
    assert found[CheckName.NEAR_DUPLICATE].verdict == Verdict.PASS
    assert stem.status == StemStatus.IN_REVIEW and stem.provenance_verdict == Verdict.FLAG


def test_containment_only_counts_stems_in_the_vault(
    artist, other_artist, curator, submit, run_jobs
):
    from portal.stems.services.lifecycle import stem_withdraw

    vault = tone_loop(6.0, seed=36, bpm=100)
    (vault_stem,) = submit(other_artist, upload(encode(vault)))
    run_jobs()
    _approve(vault_stem, curator)
    stem_withdraw(stem=vault_stem, actor=other_artist)
    (stem,) = submit(artist, upload(encode(_layered(vault, 1.0)), "layers.wav"))
    stem = processed(stem, run_jobs)
    assert checks(stem)[CheckName.CONTAINMENT].verdict == Verdict.PASS


# --- Self-output -------------------------------------------------------------------------------


def _rendered_mix() -> np.ndarray:
    a = tone_loop(20.0, seed=37, bpm=120)
    b = tone_loop(20.0, seed=38, bpm=90)
    return ((a + b) * 0.5).astype(np.float32)


def test_an_excerpt_of_a_rendered_mix_fails_and_is_rejected(artist, submit, run_jobs):
    from portal.stems.services.rendered_audio import rendered_audio_register

    # Warm the caches first, so the render below reaches them incrementally.
    (clean,) = submit(artist, upload(encode(tone_loop(seed=39))))
    assert processed(clean, run_jobs).status == StemStatus.IN_REVIEW
    mix = _rendered_mix()
    rendered = rendered_audio_register(key="mix:test-0001", samples=mix, sample_rate=RATE)
    excerpt = mix[round(7.3 * RATE) : round(13.3 * RATE)]  # 6 s from 7.3 s
    (stem,) = submit(artist, upload(encode(excerpt * 0.7), "found-this.wav"))
    stem = processed(stem, run_jobs)
    own = checks(stem)[CheckName.SELF_OUTPUT]
    assert own.verdict == Verdict.FAIL
    assert own.evidence["matches"][0]["rendered"] == rendered.key
    assert own.evidence["matches"][0]["render_offset_s"] == pytest.approx(7.3, abs=0.05)
    assert stem.status == StemStatus.REJECTED
    assert "never ingests its own output" in stem.rejection_reason


def _preview_of(stem_audio: np.ndarray) -> np.ndarray:
    """A preview render: the stem twice over, against another vault stem at the same level."""
    context = tone_loop(16.0, seed=43, bpm=90)
    return ((np.concatenate([stem_audio, stem_audio]) + context) * 0.5).astype(np.float32)


def test_a_copy_of_a_vault_stem_is_a_copy_of_that_stem_not_platform_output(
    artist, other_artist, submit, run_jobs
):
    from portal.stems.services.rendered_audio import rendered_audio_register

    original = tone_loop(8.0, seed=41)
    (vault,) = submit(other_artist, upload(encode(original)))
    vault = processed(vault, run_jobs)
    Stem.objects.filter(pk=vault.pk).update(status=StemStatus.APPROVED)
    # Its preview, registered with the stems its manifest lists, matches a copy of it too.
    rendered_audio_register(
        key="mix:preview-41", samples=_preview_of(original), sample_rate=RATE, stem_ids=[vault.pk]
    )
    (copy,) = submit(artist, upload(mp3_round_trip_wav(original, RATE), "mine.wav"))
    copy = processed(copy, run_jobs)
    found = checks(copy)
    assert found[CheckName.NEAR_DUPLICATE].verdict == Verdict.FAIL
    assert found[CheckName.NEAR_DUPLICATE].evidence["matches"][0]["stem_id"] == vault.pk
    own = found[CheckName.SELF_OUTPUT]
    assert own.verdict == Verdict.PASS
    assert own.evidence["explained_by_stems"][0]["rendered"] == "mix:preview-41"
    assert own.evidence["explained_by_stems"][0]["matched_stem_ids"] == [vault.pk]
    assert copy.status == StemStatus.REJECTED
    assert "matches a stem already submitted to the vault" in copy.rejection_reason
    assert "never ingests its own output" not in copy.rejection_reason


def test_an_upload_of_the_preview_itself_is_platform_output(artist, other_artist, submit, run_jobs):
    from portal.stems.services.rendered_audio import rendered_audio_register

    original = tone_loop(8.0, seed=42)
    (vault,) = submit(other_artist, upload(encode(original)))
    vault = processed(vault, run_jobs)
    Stem.objects.filter(pk=vault.pk).update(status=StemStatus.APPROVED)
    preview = _preview_of(original)
    rendered_audio_register(
        key="mix:preview-42", samples=preview, sample_rate=RATE, stem_ids=[vault.pk]
    )
    (stem,) = submit(artist, upload(encode(preview * 0.8), "found-this.wav"))
    stem = processed(stem, run_jobs)
    own = checks(stem)[CheckName.SELF_OUTPUT]
    assert own.verdict == Verdict.FAIL
    assert own.evidence["matches"][0]["rendered"] == "mix:preview-42"
    assert stem.status == StemStatus.REJECTED
    assert "never ingests its own output" in stem.rejection_reason


def test_registering_the_same_render_twice_is_a_no_op(db):
    from portal.stems.models import RenderedAudio
    from portal.stems.services.rendered_audio import rendered_audio_register

    mix = _rendered_mix()
    first = rendered_audio_register(key="mix:again", samples=mix, sample_rate=RATE)
    second = rendered_audio_register(key="mix:again", samples=mix[:RATE], sample_rate=RATE)
    assert first.pk == second.pk and RenderedAudio.objects.count() == 1
    assert first.duration_s == pytest.approx(20.0)


# --- Metadata ----------------------------------------------------------------------------------


def test_a_riff_info_tag_naming_a_generator_is_flagged(artist, submit, run_jobs):
    data = with_riff_info(
        encode(tone_loop(seed=40)), {"INAM": "Night drive", "ISFT": "Suno v4", "ICMT": "stem 2"}
    )
    (stem,) = submit(artist, upload(data))
    stem = processed(stem, run_jobs)
    found = checks(stem)[CheckName.METADATA]
    assert found.verdict == Verdict.FLAG
    assert found.evidence["matches"] == [
        {"source": "RIFF INFO", "tag": "ISFT (software)", "value": "Suno v4"}
    ]
    assert "Suno v4" in found.summary
    assert stem.status == StemStatus.IN_REVIEW and stem.provenance_verdict == Verdict.FLAG


def test_ordinary_tags_pass_the_metadata_check(artist, submit, run_jobs):
    data = with_riff_info(encode(tone_loop(seed=41)), {"ISFT": "Ableton Live 12", "IART": "Alice"})
    (stem,) = submit(artist, upload(data))
    found = checks(processed(stem, run_jobs))[CheckName.METADATA]
    assert found.verdict == Verdict.PASS and found.evidence["tags_read"] == 2


def test_a_flac_vorbis_comment_naming_a_generator_is_flagged(artist, submit, run_jobs, tmp_path):
    from mutagen.flac import FLAC

    path = tmp_path / "tagged.flac"
    sf.write(path, tone_loop(seed=42), RATE, format="FLAC", subtype="PCM_24")
    tagged = FLAC(path)
    tagged["comment"] = "made with Udio in 5 minutes"
    tagged.save()
    (stem,) = submit(artist, upload(path.read_bytes(), "tagged.flac"))
    found = checks(processed(stem, run_jobs))[CheckName.METADATA]
    assert found.verdict == Verdict.FLAG
    assert found.evidence["matches"][0]["source"] == "Vorbis comment"
    assert found.evidence["matches"][0]["tag"] == "COMMENT"


# --- Quality -----------------------------------------------------------------------------------


def test_clipped_audio_is_flagged_with_its_numbers(artist, submit, run_jobs):
    clipped = np.clip(tone_loop(seed=43) * 4.0, -1.0, 1.0)
    (stem,) = submit(artist, upload(encode(clipped)))
    stem = processed(stem, run_jobs)
    quality = checks(stem)[CheckName.QUALITY]
    assert quality.verdict == Verdict.FLAG
    assert [p["code"] for p in quality.evidence["problems"]] == ["clipping"]
    assert quality.evidence["clipping_ratio"] > 1e-4
    assert "flattened against full scale" in quality.summary
    assert stem.status == StemStatus.IN_REVIEW and stem.provenance_verdict == Verdict.FLAG


def test_a_lossy_source_resaved_as_wav_is_flagged_for_its_cutoff(artist, submit, run_jobs):
    noise = np.random.default_rng(44).standard_normal((RATE * 4, 2)).astype(np.float32) * 0.1
    (stem,) = submit(artist, upload(mp3_round_trip_wav(noise + tone_loop(seed=44), RATE)))
    quality = checks(processed(stem, run_jobs))[CheckName.QUALITY]
    assert quality.verdict == Verdict.FLAG
    assert "lossy_cutoff" in [p["code"] for p in quality.evidence["problems"]]
    assert quality.evidence["cutoff_hz"] < 19000


# --- The job's manners -------------------------------------------------------------------------


def test_rerunning_provenance_records_each_check_once(artist, submit, run_jobs):
    from portal.stems.provenance import provenance_run

    (stem,) = submit(artist, upload(encode(tone_loop(seed=45))))
    # A crashed earlier attempt left one stale result behind.
    ProvenanceCheck.objects.create(
        stem=stem, check_name=CheckName.QUALITY, verdict=Verdict.FAIL, summary="stale"
    )
    run_jobs()
    assert ProvenanceCheck.objects.filter(stem=stem).count() == len(CheckName.values)
    assert checks(stem)[CheckName.QUALITY].summary != "stale"
    assert provenance_run(stem_id=stem.pk, progress=lambda _: None) == {"skipped": "in_review"}
    assert ProvenanceCheck.objects.filter(stem=stem).count() == len(CheckName.values)


def test_a_stem_withdrawn_before_its_checks_ran_is_left_alone(artist, submit, run_jobs):
    from portal.stems.services.lifecycle import stem_withdraw

    (stem,) = submit(artist, upload(encode(tone_loop(seed=46))))
    stem_withdraw(stem=stem, actor=artist)
    run_jobs()
    stem.refresh_from_db()
    assert stem.status == StemStatus.WITHDRAWN
    assert not ProvenanceCheck.objects.filter(stem=stem).exists()


def test_entering_review_sends_the_signal_after_commit(
    artist, submit, run_jobs, django_capture_on_commit_callbacks
):
    from portal.stems.signals import stem_entered_review

    received: list[int] = []

    def listener(sender: Any, stem: Stem, **kwargs: Any) -> None:
        received.append(stem.pk)

    stem_entered_review.connect(listener)
    try:
        (stem,) = submit(artist, upload(encode(tone_loop(seed=47))))
        with django_capture_on_commit_callbacks(execute=True):
            run_jobs()
        assert received == [stem.pk]
    finally:
        stem_entered_review.disconnect(listener)


def test_a_rejected_stem_does_not_send_the_review_signal(
    artist, other_artist, submit, run_jobs, django_capture_on_commit_callbacks
):
    from portal.stems.signals import stem_entered_review

    original = tone_loop(8.0, seed=48)
    submit(other_artist, upload(encode(original)))
    run_jobs()
    received: list[int] = []

    def listener(sender: Any, stem: Stem, **kwargs: Any) -> None:
        received.append(stem.pk)

    (copy,) = submit(artist, upload(mp3_round_trip_wav(original, RATE)))
    stem_entered_review.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            run_jobs()
    finally:
        stem_entered_review.disconnect(listener)
    copy.refresh_from_db()
    assert copy.status == StemStatus.REJECTED and received == []


def test_correcting_the_declared_bpm_rejudges_the_tempo(artist, submit, run_jobs):
    from portal.stems.services.lifecycle import stem_update_metadata

    (stem,) = submit(artist, upload(encode(tone_loop(seed=49))), metadata=[meta()])
    stem = processed(stem, run_jobs)
    stem.analysis = {**stem.analysis, "bpm_estimate": 120.0}
    stem.save(update_fields=["analysis"])
    stem = stem_update_metadata(stem=stem, actor=artist, bpm="97", title="Renamed")
    assert stem.title == "Renamed"
    quality = checks(stem)[CheckName.QUALITY]
    assert quality.verdict == Verdict.FLAG and "declared at 97 BPM" in quality.summary
    stem = stem_update_metadata(stem=stem, actor=artist, bpm="120")
    assert checks(stem)[CheckName.QUALITY].verdict == Verdict.PASS


def test_a_fingerprint_stored_in_an_older_format_is_recomputed_and_still_matches(
    artist, other_artist, submit, run_jobs
):
    from portal.stems.fingerprint_indexes import reset_indexes

    original = tone_loop(8.0, seed=41)
    (first,) = submit(other_artist, upload(encode(original)))
    run_jobs()
    # As an older engine would have left it: bytes this engine's format refuses.
    Stem.objects.filter(pk=first.pk).update(fingerprint=b"SVFP\x00\x01old-format")
    reset_indexes()
    (copy,) = submit(artist, upload(mp3_round_trip_wav(original, RATE), "again.wav"))
    copy = processed(copy, run_jobs)
    assert checks(copy)[CheckName.NEAR_DUPLICATE].verdict == Verdict.FAIL
    first.refresh_from_db()
    assert bytes(first.fingerprint) != b"SVFP\x00\x01old-format"


# --- No false rejections: refused only on conclusive evidence -----------------------------------

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "cc0-samples"
corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is absent")


@corpus
@pytest.mark.corpus
def test_a_sibling_recording_matching_on_a_dozen_landmarks_is_flagged_not_rejected(
    artist, other_artist, submit, run_jobs
):
    # Two different strokes of one tabla (separate recordings in the CC0 corpus): they align on
    # 14 landmarks and one explains most of the other's energy, which refused the second as a
    # copy. That is a resemblance for curators to hear, not proof.
    first = (CORPUS / "tabla_te2.flac").read_bytes()
    (vault,) = submit(other_artist, upload(first, "te2.flac"), metadata=[meta(kind="one-shot")])
    processed(vault, run_jobs)
    second = (CORPUS / "tabla_te_m.flac").read_bytes()
    (stem,) = submit(artist, upload(second, "te.flac"), metadata=[meta(kind="one-shot")])
    stem = processed(stem, run_jobs)
    near = checks(stem)[CheckName.NEAR_DUPLICATE]
    assert near.verdict == Verdict.FLAG
    match = near.evidence["matches"][0]
    assert match["stem_id"] == vault.pk and match["conclusive"] is False
    assert match["matched_hashes"] < 20 and match["shared_hashes"] >= match["matched_hashes"]
    assert "curators will compare" in near.summary and f"#{vault.pk}" not in near.summary
    assert stem.status == StemStatus.IN_REVIEW and stem.provenance_verdict == Verdict.FLAG


def _nothing() -> Any:
    from renderer.fingerprint import Fingerprint

    return Fingerprint(np.zeros(0, np.uint32), np.zeros(0, np.uint32), 6.0)


def test_a_render_match_chance_could_produce_is_a_flag_with_its_evidence(db):
    from portal.stems.models import RenderedAudio
    from portal.stems.provenance_checks import check_self_output
    from renderer.fingerprint import Match
    from renderer.fingerprint.matching import chance_bound

    row = RenderedAudio.objects.create(key="mix:chance", fingerprint=b"", duration_s=30.0)
    offsets = 36.0 / 0.016
    weak = Match(
        "render:1", 0.05, 14, 0.0, 12.0, 1.0, 4000, 6.0, chance_bound(8000 / offsets, offsets)
    )
    result = check_self_output(_nothing(), found=[(weak, row)])
    assert result.verdict == Verdict.FLAG
    assert result.evidence["matches"][0]["conclusive"] is False
    assert result.evidence["matches"][0]["matched_hashes"] == 14
    assert "curators will listen" in result.summary
    strong = Match(
        "render:1", 0.4, 300, 0.0, 12.0, 1.0, 900, 6.0, chance_bound(1800 / offsets, offsets)
    )
    assert check_self_output(_nothing(), found=[(strong, row)]).verdict == Verdict.FAIL


def test_a_render_match_through_a_stem_the_copied_stem_holds_is_explained_not_refused(db):
    """A copy of a long stem built from vault loops matches the previews those loops sound in:
    the copy names its stem (near-duplicate) and the render match is explained by the loop it
    holds. The same match on an upload that copies nothing (an excerpt of the render) is
    still refused as platform output."""
    from portal.stems.models import RenderedAudio
    from portal.stems.provenance_checks import check_self_output
    from renderer.fingerprint import Match

    long_pk, loop_pk, other_pk = 101, 102, 103
    row = RenderedAudio.objects.create(
        key="mix:preview-loop", fingerprint=b"", duration_s=30.0, stem_ids=[loop_pk, other_pk]
    )
    strong = Match("render:1", 0.4, 161, 0.0, 12.0, 1.0, 900, 30.0, 20)
    copied = {long_pk: 2489}
    held = {long_pk: 2743, loop_pk: 242}
    result = check_self_output(_nothing(), copies=copied, found=[(strong, row)], contained=held)
    assert result.verdict == Verdict.PASS
    assert result.evidence["explained_by_stems"][0]["matched_stem_ids"] == [loop_pk]
    # Held by the upload, but too few landmarks to explain the render's 161.
    few = {long_pk: 2743, loop_pk: 100}
    result = check_self_output(_nothing(), copies=copied, found=[(strong, row)], contained=few)
    assert result.verdict == Verdict.FAIL
    # No copy at all: a render excerpt holds its stems too, and is refused.
    result = check_self_output(_nothing(), copies={}, found=[(strong, row)], contained=held)
    assert result.verdict == Verdict.FAIL
