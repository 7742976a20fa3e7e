"""The pure allocation math, hammered with hypothesis and checked against a naive reference."""

from __future__ import annotations

from collections import defaultdict
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.core.apportion import NothingToAllocate, largest_remainder
from portal.royalties import allocation as alloc
from portal.royalties.allocation import allocate, over_daily_limit, play_stem_ns
from portal.royalties.manifests import ManifestError, compile_manifest

# --- largest remainder ---------------------------------------------------------------------------


@given(
    total=st.integers(min_value=0, max_value=10**12),
    weights=st.lists(st.integers(min_value=0, max_value=10**24), min_size=1, max_size=40).filter(
        any
    ),
)
def test_largest_remainder_sums_exactly_never_negative_and_is_repeatable(
    total: int, weights: list[int]
) -> None:
    shares = largest_remainder(total, weights)
    assert sum(shares) == total
    assert all(share >= 0 for share in shares)
    assert shares == largest_remainder(total, list(weights))
    whole = sum(weights)
    for share, weight in zip(shares, weights, strict=True):
        exact = Fraction(total * weight, whole)
        assert exact - 1 < share < exact + 1  # never more than a unit from the exact share
        if weight == 0:
            assert share == 0


def test_largest_remainder_breaks_ties_toward_the_earlier_entry() -> None:
    assert largest_remainder(1, [1, 1, 1]) == [1, 0, 0]
    assert largest_remainder(2, [1, 1, 1]) == [1, 1, 0]
    assert largest_remainder(10, [1, 2]) == [3, 7]  # 3.33 / 6.67: the .67 gets the unit


def test_a_pool_with_nothing_to_divide_it_by_is_refused() -> None:
    with pytest.raises(NothingToAllocate):
        largest_remainder(5, [0, 0])
    assert largest_remainder(0, [0, 0]) == [0, 0]


# --- a naive reference: walk every play over every second with Fractions -----------------------


def reference(
    manifests: list[dict[str, Any]], plays: list[tuple[int, int]], pool: int
) -> dict[int, Fraction]:
    """Exact shares (Fractions) of the pool per artist, computed the slow, obvious way."""
    weight: dict[int, Fraction] = defaultdict(Fraction)
    for mix_index, ms in plays:
        manifest = manifests[mix_index]
        credits = {s["id"]: s["credits"] for s in manifest["stems"]}
        for row in manifest["attribution"]["seconds"]:
            heard = max(0, min(1000, ms - 1000 * row["t"]))
            for stem_id, share in row["shares"].items():
                ppm = round(share * 1_000_000)
                for credit in credits[stem_id]:
                    weight[credit["artist_id"]] += Fraction(heard * ppm * credit["split_bps"])
    total = sum(weight.values())
    return {a: pool * w / total for a, w in weight.items() if w} if total else {}


@st.composite
def periods(draw: Any) -> tuple[list[dict[str, Any]], list[tuple[int, int]], int]:
    n_mixes = draw(st.integers(1, 4))
    artists = [1, 2, 3, 4, 5]
    manifests = []
    for m in range(n_mixes):
        stem_ids = [str(s) for s in draw(st.sets(st.integers(1, 12), min_size=1, max_size=4))]
        stems = []
        for stem_id in stem_ids:
            who = draw(st.lists(st.sampled_from(artists), min_size=1, max_size=3, unique=True))
            cuts = sorted(
                draw(
                    st.lists(
                        st.integers(1, 9999),
                        min_size=len(who) - 1,
                        max_size=len(who) - 1,
                        unique=True,
                    )
                )
            )
            bps = [b - a for a, b in zip([0, *cuts], [*cuts, 10000], strict=True)]
            stems.append(
                {
                    "id": stem_id,
                    "credits": [
                        {"artist_id": a, "split_bps": b} for a, b in zip(who, bps, strict=True)
                    ],
                }
            )
        seconds = []
        for t in range(draw(st.integers(1, 8))):
            audible = draw(st.lists(st.sampled_from(stem_ids), unique=True, max_size=len(stem_ids)))
            raw = [draw(st.integers(1, 100)) for _ in audible]
            shares = {s: round(r / sum(raw), 6) for s, r in zip(audible, raw, strict=True)}
            seconds.append({"t": t, "shares": shares})
        manifests.append(
            {"key": f"m{m}", "stems": stems, "attribution": {"resolution_s": 1, "seconds": seconds}}
        )
    plays = draw(
        st.lists(
            st.integers(0, n_mixes - 1).flatmap(
                lambda i: st.tuples(
                    st.just(i), st.integers(0, len(manifests[i]["attribution"]["seconds"]) * 1000)
                )
            ),
            max_size=30,
        )
    )
    pool = draw(st.integers(0, 10**7))
    return manifests, plays, pool


def run(
    manifests: list[dict[str, Any]], plays: list[tuple[int, int]], pool: int
) -> alloc.Allocation:
    compiled = [
        compile_manifest(m["key"], m, len(m["attribution"]["seconds"]) * 1000) for m in manifests
    ]
    play_mix = np.array([p[0] for p in plays], dtype=np.int64)
    play_ms = np.array([p[1] for p in plays], dtype=np.int64)
    return allocate(compiled, play_mix, play_ms, pool)


@settings(max_examples=150, deadline=None)
@given(periods())
def test_the_allocation_sums_to_the_pool_is_never_negative_and_matches_the_reference(
    period: tuple[list[dict[str, Any]], list[tuple[int, int]], int],
) -> None:
    manifests, plays, pool = period
    exact = reference(manifests, plays, pool)
    if pool and not exact:
        with pytest.raises(NothingToAllocate):
            run(manifests, plays, pool)
        return
    result = run(manifests, plays, pool)
    assert sum(result.artist_amounts.values()) == pool
    assert all(amount >= 0 for amount in result.artist_amounts.values())
    assert set(result.artist_amounts) == set(exact)
    for artist, amount in result.artist_amounts.items():
        assert exact[artist] - 1 < amount < exact[artist] + 1
    # The same inputs, run again, give the very same allocation, down to every line.
    again = run(manifests, plays, pool)
    assert again.artist_amounts == result.artist_amounts
    assert again.lines == result.lines
    # Each artist's statement lines sum exactly to what the artist was allocated.
    per_artist: dict[int, int] = defaultdict(int)
    for line in result.lines:
        assert line.amount_minor >= 0
        per_artist[line.artist_id] += line.amount_minor
    assert dict(per_artist) == result.artist_amounts


@settings(max_examples=60, deadline=None)
@given(periods())
def test_the_python_int_path_beyond_int64_gives_the_same_allocation(
    period: tuple[list[dict[str, Any]], list[tuple[int, int]], int],
) -> None:
    manifests, plays, pool = period
    try:
        fast = run(manifests, plays, pool)
    except NothingToAllocate:
        return
    saved = alloc.INT64_SAFE
    alloc.INT64_SAFE = 0  # force object (Python int) arithmetic everywhere
    try:
        slow = run(manifests, plays, pool)
    finally:
        alloc.INT64_SAFE = saved
    assert slow.lines == fast.lines
    assert slow.artist_amounts == fast.artist_amounts


# --- attribution of one play ---------------------------------------------------------------------


def test_a_partial_last_second_counts_pro_rata_and_the_span_starts_at_zero() -> None:
    manifest = {
        "stems": [
            {"id": "1", "credits": [{"artist_id": 7, "split_bps": 10000}]},
            {
                "id": "2",
                "credits": [
                    {"artist_id": 8, "split_bps": 2500},
                    {"artist_id": 9, "split_bps": 7500},
                ],
            },
        ],
        "attribution": {
            "resolution_s": 1,
            "seconds": [
                {"t": 0, "shares": {"1": 1.0}},
                {"t": 1, "shares": {"1": 0.25, "2": 0.75}},
                {"t": 2, "shares": {}},
            ],
        },
    }
    mix = compile_manifest("m", manifest, 3000)
    # 1.4 s: all of second 0, 400 ms of second 1.
    assert play_stem_ns(mix, 1400) == {"1": 1000 * 1_000_000 + 400 * 250_000, "2": 400 * 750_000}
    result = allocate([mix], np.array([0]), np.array([1400]), 1000)
    # weights: artist 7: 1.1e9 ns x 10000; 8: 3e8 x 2500; 9: 3e8 x 7500 -> 11 : 0.75 : 2.25
    # exact: 785.71, 53.57, 160.71 -> floors 785 + 53 + 160 = 998; the two units left go to
    # the two largest remainders (.714 for 7 and 9), not to 8's .571.
    assert result.artist_amounts == {7: 786, 8: 53, 9: 161}
    assert sum(result.artist_amounts.values()) == 1000


@pytest.mark.parametrize(
    ("stems", "message"),
    [
        ([{"id": "1", "credits": [{"artist_id": 1, "split_bps": 6000}]}], "sum to 6000"),
        ([{"id": "1", "credits": []}], "no credits"),
        ([{"id": "1", "credits": [{"artist_id": "1", "split_bps": 10000}]}], "integer"),
    ],
)
def test_a_manifest_with_unusable_credits_is_refused(stems: list[Any], message: str) -> None:
    manifest = {
        "stems": stems,
        "attribution": {"resolution_s": 1, "seconds": [{"t": 0, "shares": {"1": 1.0}}]},
    }
    with pytest.raises(ManifestError, match=message):
        compile_manifest("m", manifest, 1000)


# --- daily limit -----------------------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(
    plays=st.lists(
        st.tuples(st.integers(0, 2), st.integers(0, 1), st.integers(0, 2), st.integers(0, 5)),
        min_size=1,
        max_size=60,
    ),
    limit=st.integers(1, 5),
    seed=st.integers(0, 2**32 - 1),
)
def test_the_daily_limit_is_the_same_whatever_order_the_plays_arrive_in(
    plays: list[tuple[int, int, int, int]], limit: int, seed: int
) -> None:
    n = len(plays)
    columns = np.array(plays, dtype=np.int64).reshape(n, 4)
    event_rank = np.arange(n, dtype=np.int64)

    def over(index: np.ndarray, listener_offset: int = 0) -> set[int]:
        c = columns[index]
        flags = over_daily_limit(
            listener=c[:, 0] + listener_offset,
            mix=c[:, 1],
            day=c[:, 2],
            started_us=c[:, 3],
            event_rank=event_rank[index],
            prior=np.zeros(n, dtype=np.int64),
            limit=limit,
        )
        return {int(i) for i in index[flags]}

    straight = over(np.arange(n))
    shuffled = over(np.random.default_rng(seed).permutation(n))
    assert straight == shuffled
    # Listener codes too wide to pack into one sort key take the general path: same answer.
    assert over(np.arange(n), listener_offset=2**60) == straight
    groups: dict[tuple[int, int, int], int] = defaultdict(int)
    for listener, mix, day, _ in plays:
        groups[(listener, mix, day)] += 1
    assert len(straight) == sum(max(0, count - limit) for count in groups.values())
    # The ones over the limit are the latest of their group (by start, then event id).
    for i in straight:
        key = plays[i][:3]
        earlier = [
            j for j in range(n) if plays[j][:3] == key and (plays[j][3], j) < (plays[i][3], i)
        ]
        assert len(earlier) >= limit


def test_plays_already_counted_in_earlier_periods_use_up_the_allowance() -> None:
    one = np.zeros(3, dtype=np.int64)
    flags = over_daily_limit(
        listener=one,
        mix=one,
        day=one,
        started_us=np.arange(3),
        event_rank=np.arange(3),
        prior=np.full(3, 2, dtype=np.int64),
        limit=3,
    )
    assert flags.tolist() == [False, True, True]
