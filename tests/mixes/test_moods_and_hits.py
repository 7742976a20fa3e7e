"""Mood leads the choice of stems, intensity fills the arrangement, the vocabulary lists what a
request may ask for, and hit points that cannot land are refused rather than moved."""

from __future__ import annotations

from typing import Any

import pytest

from portal.core.errors import ApplicationError
from portal.mixes.models import Mix
from portal.mixes.moods import MOOD_MAP, neighbours
from portal.mixes.planner import plan_soundtrack
from portal.mixes.soundtrack_request import soundtrack_request_from
from portal.stems.models import StemKind, StemStatus
from tests.factories.stems import StemFactory, hit_stem, vault_of

LIST_URL = "/api/v1/soundtracks/"


def _plan(**fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"duration_s": 30, "mood": "calm", "seed": 0, **fields}
    return plan_soundtrack(soundtrack_request_from(data))


def _ids(plan: dict[str, Any]) -> set[int]:
    return {int(stem["id"]) for stem in plan["stems"]}


def test_the_mood_chooses_the_stems_and_then_the_tempo_suits_them(artist: Any) -> None:
    # A complete calm vault at 120 bpm, and three tense stems at 90 bpm: by role coverage
    # alone, 120 bpm wins; the tense request must still be built from the tense stems.
    vault_of(artist, bpm=120, mood="calm")
    tense = [
        StemFactory(artist=artist, role="drums", bpm=90, moods=["tense"]),
        StemFactory(artist=artist, role="bass", bpm=90, musical_key="A minor", moods=["tense"]),
        StemFactory(artist=artist, role="percussion", bpm=90, moods=["tense"]),
    ]
    for seed in range(4):
        plan = _plan(mood="tense", seed=seed)
        assert _ids(plan) == {stem.pk for stem in tense}
        assert abs(plan["tempo_bpm"] / 90 - 1) <= 0.06


def test_a_mood_without_stems_of_its_own_is_built_from_its_neighbours(artist: Any) -> None:
    assert "calm" in neighbours("peaceful")
    calm = [
        StemFactory(artist=artist, role="drums", bpm=100, moods=["calm"]),
        StemFactory(artist=artist, role="harmony", bpm=100, musical_key="C", moods=["calm"]),
    ]
    vault_of(artist, bpm=120, mood="tense")  # more role groups, far from peaceful
    plan = _plan(mood="peaceful")
    assert _ids(plan) == {stem.pk for stem in calm}


def test_different_moods_choose_different_stems(artist: Any) -> None:
    calm = vault_of(artist, bpm=120, mood="calm")
    dark = vault_of(artist, bpm=120, mood="dark")
    assert _ids(_plan(mood="calm")) == {s.pk for s in calm}
    assert _ids(_plan(mood="dark")) == {s.pk for s in dark}


def test_an_unknown_mood_is_refused_with_the_known_ones(artist: Any, api_for: Any) -> None:
    vault_of(artist)
    StemFactory(artist=artist, role="melody", bpm=120, musical_key="C", moods=["jazzy"])
    response = api_for(artist).post(LIST_URL, {"duration_s": 20, "mood": "chill"}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "unknown_mood" and "mood" in error["fields"]
    assert "'chill'" in error["message"]
    for known in ("calm", "tense", "jazzy", "melancholic"):
        assert known in error["message"]
    assert not Mix.objects.exists()
    # A mood an approved stem is tagged with is known, even off the map.
    accepted = api_for(artist).post(LIST_URL, {"duration_s": 20, "mood": "jazzy"}, format="json")
    assert accepted.status_code == 202, accepted.content


def test_the_vocabulary_lists_moods_genres_and_roles_with_approved_stem_counts(
    artist: Any, app_api: Any, client_app: Any
) -> None:
    StemFactory(artist=artist, role="drums", moods=["calm", "Jazzy"], genres=["lo-fi"])
    StemFactory(artist=artist, role="bass", musical_key="A minor", moods=["calm"])
    StemFactory(artist=artist, role="drums", moods=["tense"], status=StemStatus.IN_REVIEW)
    response = app_api(client_app).get("/api/v1/vocabulary/")
    assert response.status_code == 200, response.content
    body = response.json()
    moods = {m["name"]: m for m in body["moods"]}
    assert moods["calm"]["approved_stems"] == 2 and moods["calm"]["on_mood_map"]
    assert "peaceful" in moods["calm"]["neighbours"]
    assert moods["jazzy"] == {
        "name": "jazzy",
        "approved_stems": 1,
        "on_mood_map": False,
        "neighbours": [],
    }
    assert moods["tense"]["approved_stems"] == 0  # in review: not in the vault yet
    assert set(MOOD_MAP) <= set(moods)
    assert body["genres"] == [{"name": "lo-fi", "approved_stems": 1}]
    roles = {r["name"]: r["approved_stems"] for r in body["roles"]}
    assert roles["drums"] == 1 and roles["bass"] == 1 and roles["fx"] == 0


def _layers_per_bar(plan: dict[str, Any]) -> list[int]:
    counts: list[int] = []
    for section in plan["sections"]:
        counts += [len(section["layers"])] * section["bars"]
    return counts


def test_higher_intensity_plays_more_layers_at_once(artist: Any) -> None:
    vault_of(artist, bpm=120, mood="calm")
    StemFactory(artist=artist, role="melody", bpm=120, musical_key="A minor", moods=["calm"])
    StemFactory(artist=artist, role="percussion", bpm=120, moods=["calm"])
    low, mid, high = (_layers_per_bar(_plan(intensity=i)) for i in (0.1, 0.5, 0.9))
    assert max(low) < max(mid) < max(high)
    assert sum(low) < sum(mid) < sum(high)


def test_a_hit_one_shot_is_never_looped_as_a_layer(artist: Any) -> None:
    vault_of(artist)
    hit = hit_stem(artist)
    plan = _plan(hit_points=[7.77])
    assert all(
        layer["stem"] != str(hit.pk) for section in plan["sections"] for layer in section["layers"]
    )
    assert plan["accents"] == [{"stem": str(hit.pk), "at_s": 7.77, "gain_db": -3.0}]
    # A long fx recording is not a hit: it is not used to mark hit points.
    long_fx = StemFactory(
        artist=artist, kind=StemKind.ONE_SHOT, role="fx", bpm=None, moods=["calm"], bars=5
    )
    assert not any(a["stem"] == str(long_fx.pk) for a in _plan(hit_points=[7.77])["accents"])


@pytest.mark.parametrize(
    ("hits", "message"),
    [
        ([0.5, 10.0], "too close to the start"),
        ([10.0, 10.4], "0.4 s apart"),
    ],
)
def test_hit_points_too_close_are_refused_not_moved(hits: list[float], message: str) -> None:
    with pytest.raises(ApplicationError) as caught:
        soundtrack_request_from({"duration_s": 20, "mood": "calm", "hit_points": hits})
    assert caught.value.code == "invalid" and caught.value.fields is not None
    assert message in caught.value.fields["hit_points"][0]


def test_a_mood_the_vault_lacks_borrows_from_the_nearest_mood_it_holds(artist: Any) -> None:
    # No melancholic stems and no neighbours of it: dark is nearest on the map, uplifting
    # far, even though the uplifting stems cover more role groups.
    dark = [
        StemFactory(artist=artist, role="bass", bpm=90, musical_key="A minor", moods=["dark"]),
        StemFactory(artist=artist, role="harmony", bpm=90, musical_key="A minor", moods=["dark"]),
    ]
    vault_of(artist, bpm=120, mood="uplifting")
    assert _ids(_plan(mood="melancholic")) == {stem.pk for stem in dark}
