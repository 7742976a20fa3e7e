"""Iterating on a take through the Sync API: pins and mutes, variations, versions with changes
(length, swap, a re-drawn section), the family, names and notes; who may do it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from portal.mixes.models import Mix
from portal.mixes.planner import plan_soundtrack
from portal.mixes.rendering import _load_stem
from portal.mixes.soundtrack_request import soundtrack_request_from
from portal.stems.models import StemStatus
from renderer.engine import mix as mix_placements
from renderer.placement import bar_to_frame, plan_placements
from renderer.plan import parse_plan
from renderer.stems import load_stems
from tests.factories.clients import ClientAppFactory
from tests.factories.stems import StemFactory, hit_stem, vault_of
from tests.helpers.sync_api import LIST_URL, detail_url


def _url(mix_id: Any, what: str) -> str:
    return f"{detail_url(mix_id)}{what}/"


def _layer_stems(plan: dict[str, Any]) -> set[str]:
    return {layer["stem"] for s in plan["sections"] for layer in s["layers"]}


def _request(api: Any, **fields: Any) -> Mix:
    body = {"duration_s": 30, "mood": "calm", "intensity": 0.4, **fields}
    response = api.post(LIST_URL, body, format="json")
    assert response.status_code == 202, response.content
    return Mix.objects.get(pk=response.json()["id"])


@pytest.fixture
def two_of_each(artist: Any) -> list[Any]:
    """Two stems of each role group, all fitting together."""
    return [*vault_of(artist), *vault_of(artist)]


def test_a_pinned_stem_plays_in_its_groups_place_and_a_muted_one_never(
    two_of_each: list[Any], app_api: Any, client_app: Any
) -> None:
    api = app_api(client_app)
    first = _request(api, seed=3)
    basses = [s for s in two_of_each if s.role == "bass"]
    drawn = next(b for b in basses if str(b.pk) in _layer_stems(first.plan))
    other = next(b for b in basses if b is not drawn)
    pinned = _request(api, seed=3, pinned_stem_ids=[other.pk])
    assert str(other.pk) in _layer_stems(pinned.plan)
    assert str(drawn.pk) not in _layer_stems(pinned.plan)  # the pin took the bass's place
    harmony = next(s for s in two_of_each if s.role == "harmony")
    for seed in range(4):
        muted = _request(api, seed=seed, muted_stem_ids=[harmony.pk])
        assert str(harmony.pk) not in _layer_stems(muted.plan)
    assert muted.request["muted_stem_ids"] == [harmony.pk]


def test_a_pin_that_is_not_an_approved_stem_or_clashes_is_refused_clearly(
    artist: Any, two_of_each: list[Any], app_api: Any, client_app: Any
) -> None:
    api = app_api(client_app)
    in_review = StemFactory(artist=artist, role="bass", status=StemStatus.IN_REVIEW)
    for bad in (in_review.pk, 999999):
        response = api.post(
            LIST_URL, {"duration_s": 20, "mood": "calm", "pinned_stem_ids": [bad]}, format="json"
        )
        assert response.status_code == 400, response.content
        error = response.json()["error"]
        assert error["code"] == "pinned_stem_unavailable"
        assert str(bad) in error["message"] and "pinned_stem_ids" in error["fields"]
    stem = two_of_each[0].pk
    both = api.post(
        LIST_URL,
        {"duration_s": 20, "mood": "calm", "pinned_stem_ids": [stem], "muted_stem_ids": [stem]},
        format="json",
    )
    assert both.status_code == 400 and "muted_stem_ids" in both.json()["error"]["fields"]
    fast = StemFactory(artist=artist, role="bass", bpm=150.0, moods=["calm"])
    clash = api.post(
        LIST_URL,
        {"duration_s": 20, "mood": "calm", "bpm": 120, "pinned_stem_ids": [fast.pk]},
        format="json",
    )
    assert clash.status_code == 400
    assert clash.json()["error"]["code"] == "pinned_stems_incompatible"


def test_variations_get_new_seeds_their_own_renders_and_list_as_one_family(
    two_of_each: list[Any], app_api: Any, client_app: Any, run_jobs: Any
) -> None:
    api = app_api(client_app)
    first = _request(api, seed=5)
    response = api.post(_url(first.pk, "variations"), {"count": 2}, format="json")
    assert response.status_code == 202, response.content
    made = response.json()["results"]
    assert [v["request"]["seed"] for v in made] == [6, 7]
    assert {v["parent_id"] for v in made} == {str(first.pk)}
    assert {v["family_id"] for v in made} == {str(first.pk)}
    # A variation of a variation stays in the family, with a seed none of it has used.
    again = api.post(_url(made[0]["id"], "variations"), {}, format="json").json()["results"]
    assert again[0]["request"]["seed"] == 8 and again[0]["family_id"] == str(first.pk)
    run_jobs()
    family = api.get(_url(made[1]["id"], "family")).json()["results"]
    assert [m["id"] for m in family] == [
        str(first.pk),
        made[0]["id"],
        made[1]["id"],
        again[0]["id"],
    ]
    assert all(m["status"] == "done" for m in family)
    # Each is its own render, with its own manifest.
    assert len({m["manifest"]["render_id"] for m in family}) == 4
    assert len({m["audio_sha256"] for m in family}) == 4
    # Deterministic from its own request: planning it again gives its plan.
    for row in family:
        mix = Mix.objects.get(pk=row["id"])
        assert plan_soundtrack(soundtrack_request_from(mix.request)) == mix.plan


def test_extending_and_shortening_keep_the_tempo_and_the_sections_that_fit(
    two_of_each: list[Any], app_api: Any, client_app: Any
) -> None:
    api = app_api(client_app)
    first = _request(api, duration_s=40, seed=2)
    sections = first.plan["sections"]
    body = [s for s in sections if s["name"] != "outro"]
    longer = api.post(_url(first.pk, "versions"), {"length_s": 70}, format="json")
    assert longer.status_code == 202, longer.content
    extended = Mix.objects.get(pk=longer.json()["id"]).plan
    assert extended["tempo_bpm"] == first.plan["tempo_bpm"]
    assert extended["duration_s"] == 70
    # The same sections, layers and fades; the last one before the old outro now hands over to
    # a new section, so only its fades may differ there.
    assert extended["sections"][: len(body) - 1] == body[:-1]
    handover = extended["sections"][len(body) - 1]
    assert {k: handover[k] for k in ("name", "start_bar", "bars")} == {
        k: body[-1][k] for k in ("name", "start_bar", "bars")
    }
    assert [layer["stem"] for layer in handover["layers"]] == [
        layer["stem"] for layer in body[-1]["layers"]
    ]
    assert extended["sections"][-1]["name"] == "outro"
    assert extended["sections"][-1]["bars"] == sections[-1]["bars"]
    assert len(extended["sections"]) > len(sections)

    shorter = api.post(_url(first.pk, "versions"), {"length_s": 25}, format="json")
    cut = Mix.objects.get(pk=shorter.json()["id"]).plan
    assert cut["tempo_bpm"] == first.plan["tempo_bpm"]
    kept = cut["sections"][:-1]
    assert [(s["name"], s["start_bar"]) for s in kept] == [
        (s["name"], s["start_bar"]) for s in body[: len(kept)]
    ]
    assert cut["sections"][-1]["name"] == "outro"
    # Back to the first take's length from the longer version: the first take's plan.
    back = api.post(_url(longer.json()["id"], "versions"), {"length_s": 40}, format="json")
    assert Mix.objects.get(pk=back.json()["id"]).plan == first.plan


def test_a_swap_mutes_one_stem_and_pins_another(
    two_of_each: list[Any], app_api: Any, client_app: Any
) -> None:
    api = app_api(client_app)
    first = _request(api, seed=1)
    drums = [s for s in two_of_each if s.role == "drums"]
    old = next(d for d in drums if str(d.pk) in _layer_stems(first.plan))
    new = next(d for d in drums if d is not old)
    response = api.post(
        _url(first.pk, "versions"),
        {"swap": {"from": old.pk, "to": new.pk}, "name": "Other drums"},
        format="json",
    )
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["name"] == "Other drums" and body["changes"]["swap"] == {
        "from": old.pk,
        "to": new.pk,
    }
    swapped = Mix.objects.get(pk=body["id"])
    assert str(new.pk) in _layer_stems(swapped.plan)
    assert str(old.pk) not in _layer_stems(swapped.plan)
    assert swapped.request["muted_stem_ids"] == [old.pk]
    assert swapped.request["pinned_stem_ids"] == [new.pk]


def test_regenerating_a_section_changes_only_that_section_of_the_mix(
    artist: Any, two_of_each: list[Any], app_api: Any, client_app: Any
) -> None:
    hit_stem(artist)
    api = app_api(client_app)
    first = _request(api, duration_s=30, seed=4, intensity=0.6, hit_points=[7.3])
    index = next(i for i, s in enumerate(first.plan["sections"]) if s["name"] == "main")
    response = api.post(_url(first.pk, "versions"), {"regenerate_section": index}, format="json")
    assert response.status_code == 202, response.content
    redrawn = Mix.objects.get(pk=response.json()["id"])
    before, after = first.plan["sections"], redrawn.plan["sections"]
    assert [s for i, s in enumerate(after) if i != index] == [
        s for i, s in enumerate(before) if i != index
    ]
    old_layers = {layer["stem"] for layer in before[index]["layers"]}
    new_layers = {layer["stem"] for layer in after[index]["layers"]}
    assert new_layers != old_layers  # re-drawn from the stems it did not have
    assert redrawn.plan["accents"] == first.plan["accents"] != []  # the hits stay where they were
    assert plan_soundtrack(soundtrack_request_from(redrawn.request)) == redrawn.plan

    # Before mastering, the two mixes are the same samples outside the re-drawn section
    # (and the half-beat crossfade tails at its edges).
    mixes = []
    for plan_data in (first.plan, redrawn.plan):
        plan = parse_plan(plan_data)
        stems = load_stems(plan, _load_stem)
        placements = plan_placements(plan, {k: v.shape[0] for k, v in stems.items()})
        mixes.append(mix_placements(placements, stems, plan.frames, plan.channels))
    plan = parse_plan(first.plan)
    tempo, rate = plan.tempo_bpm, plan.sample_rate
    start = bar_to_frame(before[index]["start_bar"], tempo, rate)
    end = bar_to_frame(before[index]["start_bar"] + before[index]["bars"], tempo, rate)
    tail = round(60.0 / tempo / 2 * rate)
    assert np.array_equal(mixes[0][:start], mixes[1][:start])
    assert np.array_equal(mixes[0][end + tail :], mixes[1][end + tail :])
    assert not np.array_equal(mixes[0][start:end], mixes[1][start:end])


def test_versions_refuse_bad_changes_with_a_clear_400(
    two_of_each: list[Any], app_api: Any, client_app: Any
) -> None:
    api = app_api(client_app)
    first = _request(api)
    url = _url(first.pk, "versions")
    cases = [
        ({}, "no_changes"),
        ({"regenerate_section": len(first.plan["sections"])}, "invalid"),
        ({"swap": {"from": 999999, "to": two_of_each[0].pk}}, "invalid"),
        ({"length_s": 2}, "invalid"),
        ({"pinned_stem_ids": ["x"]}, "invalid"),
    ]
    for body, code in cases:
        response = api.post(url, body, format="json")
        assert response.status_code == 400, (body, response.content)
        assert response.json()["error"]["code"] == code, body
    too_many = api.post(_url(first.pk, "variations"), {"count": 9}, format="json")
    assert too_many.status_code == 400
    assert Mix.objects.count() == 1


def test_another_apps_soundtrack_cannot_be_iterated_on_named_or_listed(
    two_of_each: list[Any], app_api: Any, client_app: Any, developer: Any
) -> None:
    first = _request(app_api(client_app))
    other = app_api(ClientAppFactory(owner=developer, name="Another game"))
    for method, what, body in (
        ("post", "variations", {}),
        ("post", "versions", {"seed": 9}),
        ("get", "family", None),
    ):
        response = getattr(other, method)(_url(first.pk, what), body, format="json")
        assert response.status_code == 404, (what, response.content)
    renamed = other.patch(detail_url(first.pk), {"name": "Mine now"}, format="json")
    assert renamed.status_code == 404
    assert Mix.objects.count() == 1 and Mix.objects.get().name == ""


def test_a_take_keeps_a_name_and_notes(
    two_of_each: list[Any], app_api: Any, client_app: Any
) -> None:
    api = app_api(client_app)
    first = _request(api)
    response = api.patch(
        detail_url(first.pk),
        {"name": "Boss fight", "notes": "Drums too busy at 0:20"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "Boss fight"
    # Either field alone leaves the other as it was.
    api.patch(detail_url(first.pk), {"notes": "Better"}, format="json")
    first.refresh_from_db()
    assert (first.name, first.notes) == ("Boss fight", "Better")
    too_long = api.patch(detail_url(first.pk), {"name": "x" * 121}, format="json")
    assert too_long.status_code == 400


def test_the_same_change_twice_renders_the_same_audio_under_its_own_manifest(
    two_of_each: list[Any], app_api: Any, client_app: Any, run_jobs: Any
) -> None:
    api = app_api(client_app)
    first = _request(api, duration_s=12, seed=2)
    ids = [
        api.post(_url(first.pk, "versions"), {"length_s": 16}, format="json").json()["id"]
        for _ in range(2)
    ]
    run_jobs()
    one, two = (Mix.objects.get(pk=i) for i in ids)
    assert one.request == two.request and one.plan_sha256 == two.plan_sha256
    assert one.status == two.status == "done"
    assert one.audio_sha256 == two.audio_sha256 != first.audio_sha256
    assert one.manifest["render_id"] != two.manifest["render_id"]
