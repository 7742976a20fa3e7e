"""A render worker keeps the vault it read and reads it again only when its version changes: an
approval, a takedown or a withdrawal still reaches every segment planned after it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from portal.stems.models import StemStatus
from portal.stems.services.lifecycle import stem_transition
from portal.streams import engine
from portal.streams.models import SegmentStatus, StreamSegment
from tests.factories.stems import StemFactory

pytestmark = pytest.mark.django_db
START = datetime(2024, 3, 5, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _stems_from_the_first_seed() -> None:
    """The factory's stems sound by their seed, a sequence over the whole run: from 1 here, so
    the fade measured below is of the same audio whichever tests ran before (after another
    module's stems the first second's share of the taken-down drums read 0.052)."""
    StemFactory.reset_sequence()


def _ids() -> set[str]:
    return {stem.id for stem in engine.vault_now()}


def test_the_kept_vault_follows_an_approval_and_a_takedown_that_keep_its_size(
    vault, artist, curator
):
    waiting = StemFactory(artist=artist, role="melody", moods=["calm"], in_review=True)
    before = _ids()
    assert before == {str(stem.pk) for stem in vault}
    assert _ids() == before  # read again: the same version, the snapshot kept
    # One stem leaves, one joins: the same number of approved stems.
    stem_transition(stem=vault[0], to=StemStatus.TAKEN_DOWN, actor=curator)
    stem_transition(stem=waiting, to=StemStatus.APPROVED, actor=curator)
    after = _ids()
    assert after == (before - {str(vault[0].pk)}) | {str(waiting.pk)}
    stem_transition(stem=vault[1], to=StemStatus.WITHDRAWN, actor=curator)
    assert str(vault[1].pk) not in _ids()


def test_a_takedown_reaches_the_next_segment_planned_on_a_worker_that_kept_the_vault(
    player, clock, curator, vault
):
    clock.set(START)
    p = player()  # renders the first segments: this process now keeps the vault
    rendered = StreamSegment.objects.filter(session_id=p.id, status=SegmentStatus.READY)
    last = rendered.order_by("-index").first()
    victim = next(stem for stem in vault if str(stem.pk) in last.stems)
    stem_transition(stem=victim, to=StemStatus.TAKEN_DOWN, actor=curator)
    fetched: set[int] = set()
    position = 0.0
    while position < 20:
        p.fetch_due(position, fetched)
        clock.advance(timedelta(seconds=2))
        position += 2
    later = list(rendered.filter(index__gt=last.index).order_by("index"))
    assert len(later) >= 5
    # The first segment planned after it fades the stem out in its first milliseconds; no
    # later one has it at all.
    first_second = later[0].manifest["attribution"]["seconds"][0]["shares"]
    assert first_second.get(str(victim.pk), 0.0) < 0.05
    assert all(str(victim.pk) not in segment.stems for segment in later[1:])
