from __future__ import annotations

import io

import pytest

from portal.clients import demo as clients_demo
from portal.mixes import demo
from portal.mixes.models import Mix, RenderStatus
from tests.factories.accounts import UserFactory
from tests.factories.stems import StemFactory, vault_of

# The demo's own requests are 45 s and 60 s; shorter ones keep this test quick while going
# through the same code.
SHORT_REQUESTS = [
    {"duration_s": 10, "mood": "calm", "seed": 1},
    {"duration_s": 12, "mood": "uplifting", "hit_points": [4.0, 8.0], "seed": 2, "format": "flac"},
]


def test_the_demo_app_requests_two_soundtracks_once(
    artist: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo, "DEMO_REQUESTS", SHORT_REQUESTS)
    UserFactory(username="sam", staff=True)
    clients_demo.seed(out=io.StringIO())
    app = clients_demo.demo_app()
    vault_of(artist, mood="calm")
    StemFactory(artist=artist, role="harmony", bpm=120, musical_key="C major", moods=["uplifting"])
    out = io.StringIO()
    demo.seed(out=out)
    mixes = list(Mix.objects.filter(client_app=app))
    assert len(mixes) == 2
    # Dated to the start of last month, the month the royalties demo plays them in.
    assert {m.created_at for m in mixes} == {demo._previous_month_start()}
    assert {m.status for m in mixes} == {RenderStatus.DONE}
    assert sorted(round(m.duration_s or 0) for m in mixes) == [10, 12]
    assert out.getvalue().count("/soundtracks/") == 2
    hashes = {m.pk: m.audio_sha256 for m in mixes}
    demo.seed(out=io.StringIO())
    again = {m.pk: m.audio_sha256 for m in Mix.objects.filter(client_app=app)}
    assert again == hashes


def test_the_demo_says_why_when_the_vault_is_empty(db: None) -> None:
    UserFactory(username="sam", staff=True)
    clients_demo.seed(out=io.StringIO())
    out = io.StringIO()
    demo.seed(out=out)
    assert "skipped" in out.getvalue()
    assert not Mix.objects.exists()


def test_the_demo_requests_are_valid_requests() -> None:
    from portal.mixes.soundtrack_request import soundtrack_request_from

    for data in demo.DEMO_REQUESTS:
        assert soundtrack_request_from(data).duration_s in (45, 60)
