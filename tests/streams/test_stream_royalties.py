"""Stream listening through the period close: an honest 20 s pays the artists exactly what its
signed manifest says, to the minor unit, and verify_period passes; a stream segment row or a
stream manifest edited before or after the close makes verify_period fail."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from portal.mixes.models import Mix
from portal.royalties.models import Play
from portal.royalties.services import period_close
from portal.royalties.verification import period_verify
from portal.streams.models import StreamSegment, StreamStretch
from tests.factories.royalties import MARCH_WINDOW_PASSED
from tests.factories.stems import StemFactory, vault_of
from tests.helpers.money import artist_payable, expected_payout, manifest_weights

pytestmark = pytest.mark.django_db
START = datetime(2024, 3, 5, 9, 0, tzinfo=UTC)
MONTH = "2024-03"
POOL = 10_007


@pytest.fixture
def vault(artist: Any, other_artist: Any) -> list[Any]:
    """Calm stems by alice, one of them (the bass) co-written with bob at 30 %."""
    stems = [s for s in vault_of(artist, mood="calm") if s.role != "bass"]
    bass = StemFactory(
        artist=artist,
        role="bass",
        musical_key="A minor",
        moods=["calm"],
        credits=[(artist, 7000), (other_artist, 3000)],
    )
    return [*stems, bass]


def honest_listening(player: Any, clock: Any) -> Mix:
    clock.set(START)
    p = player()
    assert p.end(p.listen(20)).status_code == 200
    stretch = StreamStretch.objects.get(session_id=p.id)
    return Mix.objects.get(pk=stretch.mix_id)


def close() -> None:
    period_close(month=MONTH, pool_minor=POOL, currency="usd", actor=None)


def test_an_honest_20_s_stream_pays_both_artists_exactly_and_verifies(
    player, clock, artist, other_artist
):
    mix = honest_listening(player, clock)
    play = Play.objects.get(mix=mix)
    assert play.ms_played == 20_000 and play.qualifies
    weights = manifest_weights(mix.manifest, 20_000)
    assert set(weights) == {artist.pk, other_artist.pk}  # the bass sounded
    expected = expected_payout(POOL, [play])
    clock.set(MARCH_WINDOW_PASSED)
    close()
    paid = artist_payable(MONTH)
    assert paid == expected
    assert paid[artist.pk] > 0 and paid[other_artist.pk] > 0
    assert paid[artist.pk] + paid[other_artist.pk] == POOL
    report = period_verify(month=MONTH)
    assert report.ok, report.differences
    assert any(c.startswith("streams: 1 stream plays match") for c in report.checked)


def test_a_stream_manifest_edited_before_the_close_fails_verification(player, clock, vault):
    """Shares moved onto the co-written bass (bob's 30 %) after the stretch was paid, before
    the close: the close pays the edited manifest, recomputing from it agrees, but its
    signature no longer verifies."""
    mix = honest_listening(player, clock)
    bass = str(next(s for s in vault if s.role == "bass").pk)
    manifest = mix.manifest
    for row in manifest["attribution"]["seconds"]:
        row["shares"] = {bass: 1.0}
    Mix.objects.filter(pk=mix.pk).update(manifest=manifest)
    clock.set(MARCH_WINDOW_PASSED)
    close()
    report = period_verify(month=MONTH)
    assert not report.ok
    assert any(f"mix {mix.pk}: its manifest's signature" in d for d in report.differences)


def test_a_stream_segment_row_edited_after_the_close_fails_verification(player, clock):
    mix = honest_listening(player, clock)
    clock.set(MARCH_WINDOW_PASSED)
    close()
    assert period_verify(month=MONTH).ok
    StreamSegment.objects.filter(play_mix=mix, index=3).update(frames=192_000)
    report = period_verify(month=MONTH)
    assert not report.ok
    assert any("stream segment 3 of session" in d for d in report.differences)


def test_a_segment_manifest_or_an_unconfirmed_segment_fails_verification(player, clock):
    mix = honest_listening(player, clock)
    clock.set(MARCH_WINDOW_PASSED)
    close()
    segment = StreamSegment.objects.get(play_mix=mix, index=5)
    segment.manifest["attribution"]["seconds"][0]["shares"] = {"1": 1.0}
    segment.save(update_fields=["manifest"])
    StreamSegment.objects.filter(play_mix=mix, index=6).update(confirmed_at=None)
    # Two segments moved onto one moment of the wall clock: paid as if heard at once.
    first = StreamSegment.objects.get(play_mix=mix, index=1)
    StreamSegment.objects.filter(play_mix=mix, index=2).update(
        heard_from=first.heard_from, heard_until=first.heard_until
    )
    report = period_verify(month=MONTH)
    assert any("segment 5" in d and "signature does not verify" in d for d in report.differences)
    assert any(
        "segment 6" in d and "never both delivered and confirmed" in d for d in (report.differences)
    )
