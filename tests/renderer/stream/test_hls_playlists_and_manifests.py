"""The playlists (RFC 8216), the manifest box of a segment, and what bad input is told."""

from __future__ import annotations

import numpy as np
import pytest

from renderer.stream import fmp4, hls
from tests.renderer.stream.hls_files import SEGMENT, chirp_and_noise

# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("samples", "kwargs", "message"),
    [
        (np.zeros((SEGMENT,), np.float32), {}, r"shape \(frames, channels\)"),
        (np.zeros((SEGMENT, 6), np.float32), {}, r"1 or 2 channels"),
        (np.zeros((2, SEGMENT), np.float32), {}, r"1 or 2 channels"),
        (np.zeros((SEGMENT, 2), np.float64), {}, r"float32, not float64"),
        (np.zeros((SEGMENT + 1, 2), np.float32), {}, r"4000-frame blocks"),
        (np.zeros((SEGMENT, 2), np.float32), {"start_frame": 10}, r"4000-frame blocks"),
        (np.zeros((0, 2), np.float32), {}, r"4000-frame blocks"),
        (
            np.zeros((SEGMENT, 2), np.float32),
            {"sample_rate": 32_000},
            r"sample_rate must be one of",
        ),
        (np.zeros((SEGMENT, 2), np.float32), {"sequence": -1}, r"sequence must be >= 0"),
    ],
)
def test_a_malformed_segment_is_refused_with_what_to_fix(samples, kwargs, message) -> None:
    arguments = {"sequence": 0, "start_frame": 0} | kwargs
    with pytest.raises(ValueError, match=message):
        hls.media_segment(samples, **arguments)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples_are_refused(bad: float) -> None:
    samples = chirp_and_noise(SEGMENT)
    samples[1234, 1] = bad
    with pytest.raises(ValueError, match="NaN or infinite"):
        hls.media_segment(samples, sequence=0, start_frame=0)
    with pytest.raises(ValueError, match="NaN or infinite"):
        hls.delivered_samples(samples, start_frame=0)


def test_the_init_segment_refuses_what_the_format_cannot_declare() -> None:
    with pytest.raises(ValueError, match="sample_rate must be one of"):
        hls.init_segment(sample_rate=96_000)
    with pytest.raises(ValueError, match="channels must be 1 or 2"):
        hls.init_segment(channels=6)


def test_full_scale_input_clips_to_the_16_bit_range_instead_of_wrapping() -> None:
    loud = np.full((8000, 2), 1.0, np.float32)
    loud[:, 1] = -1.0
    out = hls.delivered_samples(loud, start_frame=0)
    assert out[:, 0].min() >= 32760 / 32768 and out[:, 0].max() == 32767 / 32768
    assert out[:, 1].min() == -1.0


# --- playlists -----------------------------------------------------------------------------------


def test_a_live_media_playlist_slides_its_window_and_has_the_rfc_8216_tags() -> None:
    window = [(n, 2.0, f"seg/{n}.m4s") for n in range(17, 21)]
    text = hls.media_playlist(segments=window, target_duration=2, init_uri="init.mp4")
    lines = text.splitlines()
    assert lines[:6] == [
        "#EXTM3U",
        "#EXT-X-VERSION:7",
        "#EXT-X-TARGETDURATION:2",
        "#EXT-X-MEDIA-SEQUENCE:17",
        "#EXT-X-INDEPENDENT-SEGMENTS",
        '#EXT-X-MAP:URI="init.mp4"',
    ]
    assert lines[6:] == [
        line for n in range(17, 21) for line in ("#EXTINF:2.000000,", f"seg/{n}.m4s")
    ]
    assert "#EXT-X-ENDLIST" not in text
    assert text.endswith("\n")
    ended = hls.media_playlist(segments=window, target_duration=2, init_uri="init.mp4", ended=True)
    assert ended.splitlines()[-1] == "#EXT-X-ENDLIST"


def test_a_live_playlist_may_declare_blocking_reloads_and_an_ended_one_never_does() -> None:
    window = [(n, 2.0, f"seg/{n}.m4s") for n in range(3)]
    live = hls.media_playlist(
        segments=window, target_duration=2, init_uri="init.mp4", can_block_reload=True
    ).splitlines()
    # RFC 8216bis 4.4.3.8, a Media Playlist tag: beside the other playlist-wide tags, before
    # the first segment's; no HOLD-BACK (its floor, three target durations, is the default).
    assert live[2:4] == ["#EXT-X-TARGETDURATION:2", "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES"]
    assert live.index("#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES") < live.index(
        "#EXTINF:2.000000,"
    )
    ended = hls.media_playlist(
        segments=window, target_duration=2, init_uri="init.mp4", ended=True, can_block_reload=True
    )
    # An ended playlist never changes again: there is nothing to block for.
    assert "EXT-X-SERVER-CONTROL" not in ended
    plain = hls.media_playlist(segments=window, target_duration=2, init_uri="init.mp4")
    assert "EXT-X-SERVER-CONTROL" not in plain


def test_extinf_keeps_a_segment_duration_that_is_not_whole() -> None:
    text = hls.media_playlist(segments=[(0, 1.5, "a.m4s")], target_duration=2, init_uri="i.mp4")
    assert "#EXTINF:1.500000," in text


@pytest.mark.parametrize(
    ("window", "target", "init", "message"),
    [
        ([], 2, "i.mp4", "at least one segment"),
        ([(3, 2.0, "a"), (5, 2.0, "b")], 2, "i.mp4", "consecutive"),
        ([(3, 2.6, "a")], 2, "i.mp4", "round to at most the target"),
        ([(3, 0.0, "a")], 2, "i.mp4", "must be > 0"),
        ([(3, float("nan"), "a")], 2, "i.mp4", "must be > 0"),
        ([(3, 2.0, "a\n#EXT-X-ENDLIST")], 2, "i.mp4", "not a usable playlist URI"),
        ([(3, 2.0, "a")], 2, 'i".mp4', "not a usable playlist URI"),
        ([(3, 2.0, "a")], 0, "i.mp4", "target_duration must be"),
    ],
)
def test_a_playlist_that_would_break_a_player_is_refused(window, target, init, message) -> None:
    with pytest.raises(ValueError, match=message):
        hls.media_playlist(segments=window, target_duration=target, init_uri=init)


def test_the_multivariant_playlist_names_bandwidth_and_codecs() -> None:
    text = hls.multivariant_playlist(media_uri="live/media.m3u8", bandwidth=hls.peak_bandwidth())
    assert text.splitlines() == [
        "#EXTM3U",
        "#EXT-X-VERSION:7",
        "#EXT-X-INDEPENDENT-SEGMENTS",
        f'#EXT-X-STREAM-INF:BANDWIDTH={hls.peak_bandwidth()},CODECS="fLaC"',
        "live/media.m3u8",
    ]
    with pytest.raises(ValueError, match="bandwidth must be a positive"):
        hls.multivariant_playlist(media_uri="m.m3u8", bandwidth=0)


def test_the_peak_bandwidth_bounds_even_incompressible_audio() -> None:
    noise = np.random.default_rng(0).uniform(-1, 1, (SEGMENT, 2)).astype(np.float32)
    segment = hls.media_segment(noise, sequence=0, start_frame=0)
    assert len(segment) * 8 / 2.0 <= hls.peak_bandwidth()


# --- the manifest box ------------------------------------------------------------------------------

SIGNED = {"schema": "stemvault.manifest/1", "stems": ["7", "9"], "signature": {"key_id": "k"}}


def test_the_manifest_travels_in_a_uuid_box_after_the_audio_and_comes_back_whole() -> None:
    segment = hls.media_segment(chirp_and_noise(SEGMENT), sequence=2, start_frame=2 * SEGMENT)
    assert hls.extract_segment_manifest(segment) is None
    carried = hls.embed_segment_manifest(segment, SIGNED)
    assert carried.startswith(segment)  # the audio boxes are untouched
    assert [b for b, _, _ in fmp4.top_level_boxes(carried)] == [b"styp", b"moof", b"mdat", b"uuid"]
    assert hls.extract_segment_manifest(carried) == SIGNED
    again = hls.embed_segment_manifest(carried, SIGNED | {"stems": ["7"]})
    assert hls.extract_segment_manifest(again) == SIGNED | {"stems": ["7"]}
    assert len([b for b, _, _ in fmp4.top_level_boxes(again) if b == b"uuid"]) == 1
    assert hls.embed_segment_manifest(segment, SIGNED) == carried  # deterministic bytes


def test_a_damaged_or_foreign_segment_has_no_manifest() -> None:
    segment = hls.media_segment(chirp_and_noise(8000), sequence=0, start_frame=0)
    carried = hls.embed_segment_manifest(segment, SIGNED)
    assert hls.extract_segment_manifest(carried[:-3]) is None  # truncated box
    other = carried.replace(hls.MANIFEST_UUID, bytes(16))
    assert hls.extract_segment_manifest(other) is None
    assert hls.extract_segment_manifest(b"not a segment") is None
    with pytest.raises(ValueError, match="not a media segment"):
        hls.embed_segment_manifest(hls.init_segment(), SIGNED)
    with pytest.raises(ValueError, match="truncated box header"):
        hls.embed_segment_manifest(b"abc", SIGNED)
