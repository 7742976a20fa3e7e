from __future__ import annotations

import struct
import uuid
import zlib

import numpy as np
import pytest
from django.core.cache import cache

from portal.mixes.models import Mix, RenderKind, RenderStatus
from portal.review.selectors import evidence_references
from portal.review.services.claims import review_claim
from portal.review.services.decisions import stem_decide
from portal.review.spectrogram import png_grayscale, row_frequencies, spectrogram_pixels
from portal.stems.models import StemStatus, Verdict
from tests.factories.audio import tone

pytestmark = pytest.mark.django_db


def _png_size_and_pixels(data: bytes) -> tuple[int, int, np.ndarray]:
    """An independent little PNG reader for 8-bit grayscale, filter type 0."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, idat, width, height = 8, b"", 0, 0
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        tag = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert zlib.crc32(tag + body) & 0xFFFFFFFF == crc
        if tag == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert (depth, colour) == (8, 0)
        elif tag == b"IDAT":
            idat += body
        offset += 12 + length
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(height, width + 1)
    assert (raw[:, 0] == 0).all()
    return width, height, raw[:, 1:]


def test_a_tone_draws_a_bright_line_at_its_frequency():
    pixels = spectrogram_pixels(
        tone(1000.0, 1.0, rate=44100, level=0.4)[:, 0], 44100, width=64, height=96
    )
    assert pixels.shape == (96, 64)
    brightest_row_from_top = int(np.argmax(pixels.mean(axis=1)))
    frequency = row_frequencies(44100, 96)[95 - brightest_row_from_top]
    assert 900 < frequency < 1110
    # Far from the tone the picture is dark.
    assert pixels[0].mean() < 60 and pixels[-1].mean() < 60


def test_png_encoding_round_trips():
    picture = (np.arange(12, dtype=np.uint8).reshape(3, 4) * 20).astype(np.uint8)
    width, height, pixels = _png_size_and_pixels(png_grayscale(picture))
    assert (width, height) == (4, 3)
    assert (pixels == picture).all()


def test_the_spectrogram_endpoint_serves_a_png_cached_by_stem(
    artist, curator, make_stem, client_for
):
    stem = make_stem(artist)
    browser = client_for(curator)
    response = browser.get(f"/review/stems/{stem.pk}/spectrogram.png")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    width, height, _ = _png_size_and_pixels(response.content)
    assert (width, height) == (480, 160)
    assert cache.get(f"review:spectrogram:{stem.pk}:{stem.pcm_sha256}") == response.content


def test_evidence_references_find_stems_and_mixes_wherever_they_sit():
    mix_id = str(uuid.uuid4())
    evidence = {
        "matches": [{"key": "stem:12:ab12cd", "score": 0.9}, {"rendered": f"mix:{mix_id}"}],
        "contained": {"stem_id": 7, "offset_s": 3.5},
        "stem_ids": [12, "31"],
        "note": "stem:abc is not a key",
    }
    assert evidence_references(evidence) == ([12, 7, 31], [mix_id])


def test_the_review_page_shows_everything_a_curator_needs(
    artist, other_artist, curator, make_stem, client_for
):
    vault_stem = make_stem(other_artist, title="Original vault loop", status=StemStatus.APPROVED)
    rendered = Mix.objects.create(
        kind=RenderKind.SOUNDTRACK, status=RenderStatus.DONE, audio="mixes/x.wav"
    )
    earlier = make_stem(artist, title="Earlier attempt")
    review_claim(stem=earlier, curator=curator)
    stem_decide(stem=earlier, curator=curator, decision="request_changes", note="Tighten the tail.")
    stem = make_stem(
        artist,
        title="Suspicious loop",
        provenance_verdict=Verdict.FLAG,
        moods=["tense"],
        checks=[
            (
                "near_duplicate",
                "flag",
                "Sounds like a vault stem after a gain change.",
                {"matches": [{"key": f"stem:{vault_stem.pk}", "score": 0.91}]},
            ),
            ("self_output", "pass", "Not one of our renders.", {"nearest": f"mix:{rendered.pk}"}),
        ],
    )
    Mix.objects.create(kind=RenderKind.PREVIEW, preview_of=stem, status=RenderStatus.QUEUED)
    page = client_for(curator).get(f"/review/stems/{stem.pk}/").content.decode()

    assert f'src="/api/v1/stems/{stem.pk}/audio/"' in page
    assert "Preview mix is being rendered" in page
    assert '<path d="M' in page  # the waveform
    assert f"/review/stems/{stem.pk}/spectrogram.png" in page
    # Human labels with their units, the same table as the artist's stem page.
    assert '<th scope="row">Integrated loudness</th><td>-14.2 LUFS</td>' in page
    assert "integrated_lufs" not in page and "Integrated lufs" not in page
    assert "Sounds like a vault stem after a gain change." in page
    assert "Original vault loop" in page
    assert f'src="/api/v1/stems/{vault_stem.pk}/audio/"' in page  # matched stem, playable
    assert f'src="/api/v1/mixes/{rendered.pk}/audio/"' in page  # matched mix, playable
    license_ = stem.submission.license
    assert f"v{license_.version}" in page and license_.terms_sha256 in page
    assert "not_ai_generated" in page  # attestations
    assert "Contribution receipt" in page
    assert "100%" in page  # credit split
    assert "Earlier attempt" in page and "Request changes" in page  # the artist's history
    assert "needs a written justification" in page


def test_the_review_page_plays_the_latest_finished_preview(artist, curator, make_stem, client_for):
    stem = make_stem(artist)
    done = Mix.objects.create(
        kind=RenderKind.PREVIEW, preview_of=stem, status=RenderStatus.DONE, audio="mixes/p.wav"
    )
    page = client_for(curator).get(f"/review/stems/{stem.pk}/").content.decode()
    assert f'src="/api/v1/mixes/{done.pk}/audio/"' in page
    assert "Preview mix is being rendered" not in page


def test_the_review_api_returns_the_dossier(artist, other_artist, curator, make_stem, api_for):
    vault_stem = make_stem(other_artist, status=StemStatus.APPROVED)
    stem = make_stem(
        artist,
        checks=[("containment", "flag", "Contains a vault stem.", {"stem_id": vault_stem.pk})],
    )
    body = api_for(curator).get(f"/api/v1/review/stems/{stem.pk}/").json()
    assert body["audio_url"] == f"/api/v1/stems/{stem.pk}/audio/"
    assert body["spectrogram_url"] == f"/review/stems/{stem.pk}/spectrogram.png"
    assert body["checks"][0]["matched_stem_ids"] == [vault_stem.pk]
    assert body["license"]["terms_sha256"] == stem.submission.license.terms_sha256
    assert body["attestations"]["not_ai_generated"] is True
    assert body["receipt"]["pcm_sha256"] == stem.pcm_sha256
    assert body["round"] == 1 and body["decisions"] == []
    assert body["preview_audio_url"] is None
    assert "earnings" not in str(body).lower() and "payout" not in str(body).lower()


def test_the_decision_comes_first_with_its_keys(artist, curator, make_stem, client_for):
    stem = make_stem(artist, title="Decide me")
    later = make_stem(artist, title="Then me")
    review_claim(stem=stem, curator=curator)
    page = client_for(curator).get(f"/review/stems/{stem.pk}/").content.decode()
    # The form sits above the listening and analysis sections, not at the foot of the page.
    assert page.index('id="decision-form"') < page.index('id="listen-heading"')
    assert page.index('id="decision-form"') < page.index('id="analysis-heading"')
    assert 'value="approve"' in page and 'aria-keyshortcuts="a"' in page
    assert 'aria-keyshortcuts="r"' in page and 'aria-keyshortcuts="c"' in page
    assert "Keyboard shortcuts" in page
    # n leads to the next stem waiting.
    assert f'href="/review/stems/{later.pk}/" data-shortcut="n"' in page


def test_next_in_queue_skips_stems_another_curator_holds(artist, curator, make_stem, client_for):
    from tests.factories.accounts import UserFactory

    other_curator = UserFactory(curator=True)
    first = make_stem(artist, title="First")
    held = make_stem(artist, title="Held elsewhere")
    free = make_stem(artist, title="Free one")
    review_claim(stem=held, curator=other_curator)
    page = client_for(curator).get(f"/review/stems/{first.pk}/").content.decode()
    assert f'href="/review/stems/{free.pk}/" data-shortcut="n"' in page
    assert f'href="/review/stems/{held.pk}/"' not in page
    # With nothing else free, n goes back to the queue.
    review_claim(stem=first, curator=other_curator)
    page = client_for(curator).get(f"/review/stems/{free.pk}/").content.decode()
    assert 'href="/review/" data-shortcut="n"' in page


def test_the_queue_plays_each_stem_inline(artist, curator, make_stem, client_for):
    stem = make_stem(artist, title="Queue listen")
    page = client_for(curator).get("/review/").content.decode()
    assert f'<audio controls preload="none" src="/api/v1/stems/{stem.pk}/audio/"' in page
    assert '<div class="table-scroll"><table class="table">' in page
