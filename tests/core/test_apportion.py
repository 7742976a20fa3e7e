from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.core.apportion import (
    NothingToAllocate,
    largest_remainder,
    percent_shares,
    percent_text,
)


@given(st.lists(st.integers(min_value=0, max_value=10**30), min_size=1, max_size=40))
def test_displayed_shares_always_add_up_to_exactly_100_percent(weights: list[int]) -> None:
    shares = percent_shares(weights)
    if any(weights):
        assert sum(shares) == 10_000
    else:
        assert shares == [0] * len(weights)
    assert all(s >= 0 for s in shares)
    # Each share is within one basis point of its exact value.
    total = sum(weights)
    for weight, share in zip(weights, shares, strict=True):
        if total:
            assert abs(Fraction(10_000 * weight, total) - share) < 1


def test_three_equal_thirds_show_as_33_34_33_33_33_33_not_99_99():
    shares = percent_shares([1, 1, 1])
    assert [percent_text(s) for s in shares] == ["33.34%", "33.33%", "33.33%"]


def test_fractions_split_exactly_as_their_integer_equivalents():
    assert largest_remainder(10_000, [Fraction(1, 3), Fraction(2, 3)]) == largest_remainder(
        10_000, [1, 2]
    )


def test_an_amount_with_no_weight_cannot_be_split():
    with pytest.raises(NothingToAllocate):
        largest_remainder(5, [0, 0])
    assert percent_shares([0, 0]) == [0, 0]


def test_percent_text_has_two_decimals():
    assert percent_text(10_000) == "100.00%"
    assert percent_text(5) == "0.05%"
