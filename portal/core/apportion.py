"""Splitting a whole into integer parts that add up to it exactly (largest remainder, a.k.a.
Hamilton's method): a pool into artists' amounts, an amount into statement lines, 100 % into
displayed shares, a cue sheet's 10000 basis points. Pure: no Django."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction


class NothingToAllocate(ValueError):
    """A positive total but no weight to divide it by."""


def largest_remainder(total: int, weights: Sequence[int | Fraction]) -> list[int]:
    """Split `total` units in proportion to `weights`, exactly; ties to the earlier index.

    Each share is floor(total * w / W) plus one unit for the `total - sum(floors)` largest
    remainders. That count is below the number of positive remainders, so a zero weight never
    receives a unit and no share is negative. Weights are integers or exact fractions (a float
    weight passes as Fraction(float), its exact value), never floats: the arithmetic is exact.
    """
    if total < 0:
        raise ValueError("cannot split a negative amount")
    if any(w < 0 for w in weights):
        raise ValueError("weights must not be negative")
    whole = sum(weights)
    if whole == 0:
        if total:
            raise NothingToAllocate("there is an amount to split but no weight to split it by")
        return [0] * len(weights)
    shares: list[int] = []
    remainders: list[int | Fraction] = []
    for weight in weights:
        share, remainder = divmod(total * weight, whole)
        shares.append(int(share))
        remainders.append(remainder)
    left = total - sum(shares)
    if left:
        for index in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:left]:
            shares[index] += 1
    return shares


PERCENT_BPS = 10_000  # 100.00 % in basis points


def percent_shares(weights: Sequence[int | Fraction]) -> list[int]:
    """Each weight's share of their sum in basis points, summing to exactly 10000 (100.00 %)
    whenever any weight is positive; all zero otherwise."""
    if not any(weights):
        return [0] * len(weights)
    return largest_remainder(PERCENT_BPS, weights)


def percent_text(bps: int) -> str:
    """Basis points as a percentage with two decimals: 3333 -> "33.33%"."""
    return f"{bps // 100}.{bps % 100:02d}%"
