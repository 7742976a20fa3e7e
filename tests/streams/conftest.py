from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.storage import default_storage

from tests.conftest import run_queued_jobs
from tests.factories import stems as stem_factories
from tests.factories.clients import ClientAppFactory
from tests.factories.stems import StemFactory, vault_of


@pytest.fixture(autouse=True)
def _remove_stored_files(db: None) -> Iterator[None]:
    """Delete the stems and segments a test stored, so local runs do not pile files up."""
    from portal.streams.models import StreamSegment

    yield
    names = list(stem_factories.STORED)
    stem_factories.STORED.clear()
    names += list(StreamSegment.objects.values_list("storage_key", flat=True))
    for name in names:
        try:
            if default_storage.exists(name):
                default_storage.delete(name)
        except Exception:
            pass


@pytest.fixture
def vault(artist: Any, other_artist: Any) -> list[Any]:
    """Calm stems by alice, tense ones by bob: who is paid tells which mood sounded."""
    calm = vault_of(artist, mood="calm")
    tense = [
        StemFactory(artist=other_artist, role="drums", moods=["tense"]),
        StemFactory(artist=other_artist, role="bass", musical_key="A minor", moods=["tense"]),
    ]
    return calm + tense


@pytest.fixture
def stream_app(developer: Any) -> Any:
    return ClientAppFactory(owner=developer, name="Focus app")


@pytest.fixture
def api(app_api: Callable[..., Any], stream_app: Any) -> Any:
    return app_api(stream_app)


def open_stream(api: Any, **overrides: Any) -> dict[str, Any]:
    body = {"listener_id": "listener-1", "mood": "calm", "intensity": 0.5, "seed": 7}
    body.update(overrides)
    response = api.post("/api/v1/streams/", body, format="json")
    assert response.status_code == 201, response.content
    return dict(response.json())


def playback_path(created: dict[str, Any]) -> str:
    return re.sub(r"^https?://[^/]+", "", created["playlist_url"]).rsplit("/", 1)[0]


def playlist_indexes(client: Any, created: dict[str, Any]) -> list[int]:
    response = client.get(playback_path(created) + "/live.m3u8")
    assert response.status_code == 200
    return [int(m) for m in re.findall(r"seg/(\d+)\.m4s", response.content.decode())]


class Player:
    """A well-behaved player on the test clock: fetch what is published, play in real time,
    send heartbeats."""

    def __init__(self, api: Any, client: Any, clock: Any, created: dict[str, Any]) -> None:
        self.api, self.client, self.clock, self.created = api, client, clock, created
        self.base = playback_path(created)
        self.id = created["id"]

    def refresh(self) -> list[int]:
        """Fetch the playlist and let the workers render what it asked for."""
        self.client.get(self.base + "/live.m3u8")
        run_queued_jobs()
        return playlist_indexes(self.client, self.created)

    def fetch(self, index: int) -> Any:
        return self.client.get(f"{self.base}/seg/{index}.m4s")

    def heartbeat(self, position_s: float) -> Any:
        return self.api.post(
            f"/api/v1/streams/{self.id}/heartbeat", {"position_s": position_s}, format="json"
        )

    def fetch_due(self, position: float, fetched: set[int]) -> None:
        """Fetch what a real-time player at `position` wants: up to one segment ahead."""
        for index in self.refresh():
            if index not in fetched and index <= int(position // 2) + 1:
                assert self.fetch(index).status_code == 200
                fetched.add(index)

    def listen(self, seconds: float, *, start: float = 0.0) -> float:
        """Play from `start` for `seconds` of wall clock, two seconds at a time."""
        position = start
        fetched: set[int] = set()
        while position < start + seconds:
            self.fetch_due(position, fetched)
            self.clock.advance(timedelta(seconds=2))
            position += 2
            assert self.heartbeat(position).status_code == 200
        return position

    def end(self, position_s: float | None = None) -> Any:
        body = {} if position_s is None else {"position_s": position_s}
        return self.api.post(f"/api/v1/streams/{self.id}/end", body, format="json")


def listen_together(clock: Any, plans: list[tuple[Callable[[], Player], int, int]]) -> list[Any]:
    """Several players of one test clock at once, two seconds at a time: each plan is (open a
    player, wall second it starts at, seconds it plays); each ends at its last position.
    Returns the players in plan order."""
    players: list[Any] = [None] * len(plans)
    positions = [0.0] * len(plans)
    fetched: list[set[int]] = [set() for _ in plans]
    last = max(start + seconds for _, start, seconds in plans)
    for second in range(0, last, 2):
        for i, (make, start, _) in enumerate(plans):
            if second == start:
                players[i] = make()
        active = [
            i for i, (_, start, seconds) in enumerate(plans) if start <= second < start + seconds
        ]
        for i in active:
            players[i].fetch_due(positions[i], fetched[i])
        clock.advance(timedelta(seconds=2))
        for i in active:
            positions[i] += 2
            assert players[i].heartbeat(positions[i]).status_code == 200
            if positions[i] >= plans[i][2]:
                assert players[i].end(positions[i]).status_code == 200
    return players


@pytest.fixture
def player(api: Any, client: Any, clock: Any, vault: Any) -> Callable[..., Player]:
    def make(**overrides: Any) -> Player:
        created = open_stream(api, **overrides)
        run_queued_jobs()
        return Player(api, client, clock, created)

    return make
