"""What can earn: the reporting app's own soundtracks, after they existed, within the late window,
never previews, never an owner's plays of their own stems; months close in order, after the
late window unless staff force it with an audited reason. Written as the attacker of issue 13:
a stranger whose plays of their own stem's preview, backdated a month, were paid."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from portal.audit.models import AuditEntry
from portal.core.errors import ApplicationError
from portal.mixes.models import Mix, RenderKind
from portal.royalties.models import Play, PlayReason
from portal.royalties.services import period_close, plays_ingest
from tests.factories.clients import ClientAppFactory
from tests.factories.royalties import PlayedMixFactory, PlayedStemFactory

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def now(clock: Any) -> Any:
    clock.set(NOW)
    return clock


def app_mix(app: Any, stems: list[Any], seconds: int = 60, **fields: Any) -> Mix:
    mix = PlayedMixFactory(stems=stems, even_seconds=seconds)
    Mix.objects.filter(pk=mix.pk).update(client_app=app, **fields)
    mix.refresh_from_db()
    return mix


def event(
    mix: Mix, started_at: datetime, ms: int = 45_000, listener: str = "l-1"
) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "mix_id": str(mix.pk),
        "listener_id": listener,
        "started_at": started_at.isoformat(),
        "ms_played": ms,
    }


def codes(result: Any) -> list[str]:
    return [r.code for r in result.rejected]


def test_plays_of_a_preview_made_for_review_never_earn(
    now: Any, client_app: Any, outsider: Any
) -> None:
    stem = PlayedStemFactory(artist=outsider, title="My stem still in review")
    preview = app_mix(client_app, [stem], kind=RenderKind.PREVIEW, preview_of=stem)
    now.advance(timedelta(hours=1))
    result = plays_ingest(events=[event(preview, NOW + timedelta(minutes=5))], app=client_app)
    assert codes(result) == ["preview_mix"]
    assert not Play.objects.exists()


def test_an_app_cannot_report_plays_of_another_apps_or_a_web_soundtrack(
    now: Any, client_app: Any, developer: Any, artist: Any
) -> None:
    other = ClientAppFactory(owner=developer, name="Someone else's game")
    theirs = app_mix(other, [PlayedStemFactory(artist=artist)])
    nobodys = PlayedMixFactory(
        stems=[PlayedStemFactory(artist=artist)], even_seconds=60
    )  # requested on the web page, by no app
    now.advance(timedelta(hours=1))
    at = NOW + timedelta(minutes=5)
    result = plays_ingest(events=[event(theirs, at), event(nobodys, at)], app=client_app)
    assert codes(result) == ["not_this_apps_mix", "not_this_apps_mix"]
    assert not Play.objects.exists()


def test_a_play_dated_before_its_mix_existed_is_refused(
    now: Any, client_app: Any, artist: Any
) -> None:
    mix = app_mix(client_app, [PlayedStemFactory(artist=artist)])
    now.advance(timedelta(hours=1))
    result = plays_ingest(
        events=[event(mix, NOW - timedelta(days=3)), event(mix, NOW + timedelta(minutes=1))],
        app=client_app,
    )
    assert codes(result) == ["before_mix_existed"]
    assert result.accepted == 1


def test_a_batch_backdated_past_the_late_window_is_refused_with_its_own_code(
    clock: Any, client_app: Any, artist: Any, settings: Any
) -> None:
    settings.ROYALTIES_LATE_WINDOW_DAYS = 35
    clock.set(NOW - timedelta(days=60))
    mix = app_mix(client_app, [PlayedStemFactory(artist=artist)])
    clock.set(NOW)
    old = [event(mix, NOW - timedelta(days=36, minutes=i), listener=f"rot-{i}") for i in range(50)]
    fresh = event(mix, NOW - timedelta(days=34))
    result = plays_ingest(events=[*old, fresh], app=client_app)
    assert codes(result) == ["too_late"] * 50
    assert "late window" in result.rejected[0].message
    assert result.accepted == 1
    settings.ROYALTIES_LATE_WINDOW_DAYS = 40
    assert plays_ingest(events=old[:1], app=client_app).accepted == 1


def test_an_app_owners_plays_of_their_own_stems_are_kept_but_never_count(
    now: Any, outsider: Any, artist: Any, staff: Any
) -> None:
    own_app = ClientAppFactory(owner=outsider, name="Mallory's player")
    mine = PlayedStemFactory(artist=outsider, title="Mallory's loop")
    mix = app_mix(own_app, [mine, PlayedStemFactory(artist=artist)])
    now.advance(timedelta(hours=1))
    events = [
        event(mix, NOW + timedelta(minutes=2 * i), ms=60_000, listener=f"id-{i}") for i in range(20)
    ]
    result = plays_ingest(events=events, app=own_app)
    assert result.accepted == 20
    assert set(Play.objects.values_list("reason", "qualifies")) == {(PlayReason.SELF_PLAY, False)}


def test_the_issue_13_attack_earns_nothing(
    clock: Any, outsider: Any, api_for: Any, artist: Any, staff: Any
) -> None:
    """A stranger signs up, tries a personal token, registers an app (pending), and once it is
    approved posts 2,000 plays of the preview of their own stem in review, ids rotated,
    backdated a month: every route is closed."""
    clock.set(NOW - timedelta(days=40))
    stem = PlayedStemFactory(artist=outsider, title="Own stem")
    preview = PlayedMixFactory(stems=[stem], even_seconds=60)
    Mix.objects.filter(pk=preview.pk).update(kind=RenderKind.PREVIEW, preview_of=stem)
    clock.set(NOW)
    batch = [
        event(preview, NOW - timedelta(days=31, seconds=i), ms=31_000, listener=f"rot-{i}")
        for i in range(500)
    ]
    personal = api_for(outsider).post("/api/v1/plays/", {"events": batch}, format="json")
    assert personal.status_code == 403
    app = ClientAppFactory(owner=outsider, name="Totally real radio")
    for _ in range(4):
        result = plays_ingest(events=batch, app=app)
        assert result.accepted == 0
        assert set(codes(result)) == {"preview_mix"}
    assert not Play.objects.exists()


def test_a_month_closes_only_after_its_late_window_unless_staff_force_it_with_a_reason(
    now: Any, client_app: Any, artist: Any, staff: Any, settings: Any
) -> None:
    settings.ROYALTIES_LATE_WINDOW_DAYS = 35
    with pytest.raises(ApplicationError) as refused:
        period_close(month="2026-02", pool_minor=0, currency="usd", actor=staff)
    assert refused.value.code == "late_window_open"
    assert "2026-04-05" in refused.value.message
    with pytest.raises(ApplicationError) as not_staff:
        period_close(
            month="2026-02", pool_minor=0, currency="usd", actor=artist, force_reason="because"
        )
    assert not_staff.value.code == "staff_only"
    period_close(
        month="2026-02",
        pool_minor=0,
        currency="usd",
        actor=staff,
        force_reason="Year-end audit needs February now",
    )
    entry = AuditEntry.objects.get(action="royalties.period_closed", subject="period:2026-02")
    assert entry.note == "Year-end audit needs February now"
    assert entry.after["forced_before_late_window"] is True
    now.set(datetime(2026, 5, 6, tzinfo=UTC))  # March's window has passed
    assert (
        period_close(month="2026-03", pool_minor=0, currency="usd", actor=None).month == "2026-03"
    )


def test_months_close_in_order(clock: Any, client_app: Any, artist: Any) -> None:
    clock.set(datetime(2026, 1, 2, tzinfo=UTC))
    mix = app_mix(client_app, [PlayedStemFactory(artist=artist)])
    clock.set(datetime(2026, 1, 20, tzinfo=UTC))
    plays_ingest(events=[event(mix, datetime(2026, 1, 10, tzinfo=UTC))], app=client_app)
    clock.set(datetime(2026, 6, 1, tzinfo=UTC))
    with pytest.raises(ApplicationError) as refused:
        period_close(month="2026-02", pool_minor=0, currency="usd", actor=None)
    assert refused.value.code == "earlier_period_open"
    assert "2026-01" in refused.value.message
    period_close(month="2026-01", pool_minor=100, currency="usd", actor=None)
    with pytest.raises(ApplicationError) as gap:
        period_close(month="2026-03", pool_minor=0, currency="usd", actor=None)
    assert gap.value.code == "earlier_period_open"
    assert "2026-02" in gap.value.message
    period_close(month="2026-02", pool_minor=0, currency="usd", actor=None)
    period_close(month="2026-03", pool_minor=0, currency="usd", actor=None)
