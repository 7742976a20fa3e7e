"""The planner: compatible approved stems, whole-bar sections, hit points on bar lines."""

from __future__ import annotations

import pytest

from portal.core.errors import ApplicationError
from portal.core.music import parse_key
from portal.mixes.planner import bar_seconds, plan_preview, plan_soundtrack
from portal.mixes.selection import candidate_from_stem
from portal.mixes.soundtrack_request import soundtrack_request_from
from portal.stems.models import StemStatus
from renderer.plan import parse_plan
from tests.factories.stems import StemFactory, hit_stem, vault_of


def _request(**overrides: object) -> object:
    data: dict[str, object] = {"duration_s": 30, "mood": "calm", "seed": 0}
    data.update(overrides)
    return soundtrack_request_from(data)


def _section_start_seconds(plan: dict) -> list[float]:
    bar = bar_seconds(plan["tempo_bpm"])
    return [section["start_bar"] * bar for section in plan["sections"]]


def _stem_ids(plan: dict) -> set[int]:
    return {int(stem["id"]) for stem in plan["stems"]}


def test_the_same_request_seed_and_vault_give_the_same_plan(artist: object) -> None:
    vault_of(artist)
    StemFactory(artist=artist, role="drums", bpm=122, moods=["calm"])
    StemFactory(artist=artist, role="harmony", bpm=118, musical_key="C major", moods=["calm"])
    hit_stem(artist)
    first = plan_soundtrack(_request(hit_points=[9.0], seed=7))
    second = plan_soundtrack(_request(hit_points=[9.0], seed=7))
    assert first == second
    assert parse_plan(first).to_dict() == first  # the engine accepts it as it is


def test_different_seeds_can_choose_different_stems(artist: object) -> None:
    vault_of(artist)
    for _ in range(4):
        StemFactory(artist=artist, role="drums", bpm=120, moods=["calm"])
    chosen = {frozenset(_stem_ids(plan_soundtrack(_request(seed=seed)))) for seed in range(8)}
    assert len(chosen) > 1


def test_a_plan_balances_roles_and_prefers_the_mood(artist: object) -> None:
    vault = vault_of(artist, mood="calm")
    tense_drums = StemFactory(artist=artist, role="drums", bpm=120, moods=["tense"])
    plan = plan_soundtrack(_request(mood="calm"))
    ids = _stem_ids(plan)
    assert ids == {stem.pk for stem in vault}  # one per role group, the calm drums
    assert tense_drums.pk not in ids
    tense = plan_soundtrack(_request(mood="tense"))
    assert tense_drums.pk in _stem_ids(tense)


def test_hit_points_between_bar_lines_get_an_accent_on_their_exact_time_at_a_fixed_tempo(
    artist: object,
) -> None:
    vault_of(artist)
    hit = hit_stem(artist)
    plan = plan_soundtrack(_request(duration_s=40, bpm=120, hit_points=[8.3, 19.7]))
    assert plan["tempo_bpm"] == 120
    starts = _section_start_seconds(plan)
    # At 120 bpm a bar is 2 s: the sections still change on bar 4 (8 s) and bar 10 (20 s)...
    assert 8.0 in starts and 20.0 in starts
    bar = bar_seconds(plan["tempo_bpm"])
    total_bars = sum(section["bars"] for section in plan["sections"])
    assert total_bars == 20 and total_bars * bar == pytest.approx(40.0)
    # ...and the hit one-shot sounds on the requested times themselves.
    assert [(a["stem"], a["at_s"]) for a in plan["accents"]] == [
        (str(hit.pk), 8.3),
        (str(hit.pk), 19.7),
    ]


def test_hit_points_no_section_change_can_land_are_refused_without_a_hit_one_shot(
    artist: object,
) -> None:
    vault_of(artist)
    with pytest.raises(ApplicationError) as caught:
        plan_soundtrack(_request(duration_s=40, bpm=120, hit_points=[8.3, 20.0]))
    assert caught.value.code == "hit_point_unreachable" and caught.value.status == 422
    assert "8.3 s (nearest section change 8.000 s)" in caught.value.message
    assert "20 s" not in caught.value.message  # 20 s is a bar line at 120 bpm: it lands
    # On the bar grid they land without any accent.
    plan = plan_soundtrack(_request(duration_s=40, bpm=120, hit_points=[8.0, 20.0]))
    assert "accents" not in plan and {8.0, 20.0} <= set(_section_start_seconds(plan))


def test_the_planner_picks_the_tempo_that_puts_hit_points_exactly_on_bar_lines(
    artist: object,
) -> None:
    vault_of(artist, bpm=120)
    # At 125 bpm a bar is 1.92 s: 7.68 s and 15.36 s are bars 4 and 8, 19.2 s is bar 10.
    # 125 bpm is within 6% of the vault's 120 bpm loops, so the planner should find it.
    plan = plan_soundtrack(_request(duration_s=19.2, hit_points=[7.68, 15.36]))
    assert plan["tempo_bpm"] == pytest.approx(125.0)
    starts = _section_start_seconds(plan)
    for hit in (7.68, 15.36):
        assert min(abs(hit - start) for start in starts) < 1e-6


def test_a_free_tempo_never_conforms_a_loop_by_more_than_six_percent(artist: object) -> None:
    vault_of(artist, bpm=100)
    # Hits that would land perfectly at 140 bpm must not drag 100 bpm loops there.
    plan = plan_soundtrack(_request(duration_s=24, hit_points=[6.857, 13.714]))
    assert 94.0 <= plan["tempo_bpm"] <= 106.0
    for stem in plan["stems"]:
        if "bpm" in stem:
            assert abs(plan["tempo_bpm"] / stem["bpm"] - 1) <= 0.06


def test_loops_too_far_from_the_requested_tempo_are_left_out(artist: object) -> None:
    near = StemFactory(artist=artist, role="drums", bpm=114)  # 5% from 120
    far = StemFactory(artist=artist, role="bass", bpm=100, musical_key="A minor")  # 20% from 120
    plan = plan_soundtrack(_request(bpm=120))
    assert near.pk in _stem_ids(plan)
    assert far.pk not in _stem_ids(plan)


def test_keys_fit_when_equal_relative_or_a_fifth_apart() -> None:
    a_minor = parse_key("Am")
    assert a_minor is not None
    for fitting in ("A minor", "C", "E minor", "Dm", "a min"):
        other = parse_key(fitting)
        assert other is not None and a_minor.fits(other), fitting
    for clashing in ("F#m", "Bb major", "A major", "C#m"):
        other = parse_key(clashing)
        assert other is not None and not a_minor.fits(other), clashing
    assert parse_key("") is None and parse_key("not a key") is None


def test_stems_in_a_clashing_key_are_left_out_but_keyless_stems_fit(artist: object) -> None:
    drums = StemFactory(artist=artist, role="drums", bpm=120)  # no key
    fitting = StemFactory(artist=artist, role="harmony", bpm=120, musical_key="C major")
    clashing = StemFactory(artist=artist, role="bass", bpm=120, musical_key="F# minor")
    plan = plan_soundtrack(_request(key="A minor"))
    ids = _stem_ids(plan)
    assert drums.pk in ids and fitting.pk in ids
    assert clashing.pk not in ids


@pytest.mark.parametrize(
    "status",
    [
        StemStatus.WITHDRAWN,
        StemStatus.TAKEN_DOWN,
        StemStatus.IN_REVIEW,
        StemStatus.REJECTED,
        StemStatus.CHANGES_REQUESTED,
    ],
)
def test_stems_that_are_not_approved_are_never_chosen(artist: object, status: str) -> None:
    vault_of(artist)
    excluded = [
        StemFactory(
            artist=artist, role=role, bpm=120, musical_key="A minor", moods=["calm"], status=status
        )
        for role in ("drums", "bass", "harmony", "texture")
    ]
    for seed in range(6):
        ids = _stem_ids(plan_soundtrack(_request(seed=seed)))
        assert ids and not ids & {stem.pk for stem in excluded}


def test_an_unsatisfiable_request_says_what_to_relax(artist: object) -> None:
    vault_of(artist, bpm=120)
    with pytest.raises(ApplicationError) as caught:
        plan_soundtrack(_request(bpm=200))
    assert caught.value.code == "no_compatible_stems"
    assert caught.value.status == 422
    assert "bpm" in caught.value.message


def test_an_empty_vault_cannot_satisfy_anything(db: None) -> None:
    with pytest.raises(ApplicationError) as caught:
        plan_soundtrack(_request())
    assert caught.value.code == "no_compatible_stems"
    assert "no approved stems" in caught.value.message


def test_requests_with_hit_points_outside_the_duration_are_refused() -> None:
    with pytest.raises(ApplicationError) as caught:
        soundtrack_request_from({"duration_s": 20, "mood": "calm", "hit_points": [5, 25]})
    assert caught.value.fields is not None and "hit_points" in caught.value.fields
    with pytest.raises(ApplicationError):
        soundtrack_request_from({"duration_s": 20, "mood": "calm", "hit_points": [9, 5]})


def test_a_preview_plays_the_stem_alone_then_with_compatible_vault_stems(
    artist: object, other_artist: object
) -> None:
    vault = vault_of(other_artist)
    subject = StemFactory(
        artist=artist, role="melody", bpm=121, musical_key="C major", status=StemStatus.IN_REVIEW
    )
    plan = plan_preview(candidate_from_stem(subject))
    assert plan["duration_s"] == 30
    ids = _stem_ids(plan)
    assert subject.pk in ids
    context = ids - {subject.pk}
    assert 2 <= len(context) <= 3 and context <= {stem.pk for stem in vault}
    first = plan["sections"][0]
    assert [layer["stem"] for layer in first["layers"]] == [str(subject.pk)]
    for section in plan["sections"]:
        assert str(subject.pk) in {layer["stem"] for layer in section["layers"]}


def test_a_preview_with_an_empty_vault_is_the_stem_alone(artist: object) -> None:
    subject = StemFactory(
        artist=artist, role="bass", bpm=90, musical_key="E minor", status=StemStatus.IN_REVIEW
    )
    plan = plan_preview(candidate_from_stem(subject))
    assert _stem_ids(plan) == {subject.pk}
    assert plan["tempo_bpm"] == 90
