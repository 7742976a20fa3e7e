"""Typed fields of a render plan's JSON, read with errors that say where and what to fix.

Split out of renderer.plan (which re-exports PlanError) so the plan module holds the format
itself: its dataclasses, canonical form and the rules of each part.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["PlanError", "_check_keys", "_integer", "_number", "_string"]


class PlanError(ValueError):
    """The plan is malformed or asks for something the engine will not do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _check_keys(
    data: Any, where: str, allowed: frozenset[str], required: frozenset[str]
) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise PlanError(f"{where} must be a JSON object, got {type(data).__name__}")
    missing = sorted(required - data.keys())
    if missing:
        raise PlanError(f"{where} is missing required key(s): {', '.join(missing)}")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise PlanError(f"{where} has unknown key(s): {', '.join(unknown)}")
    return data


def _number(
    data: Mapping[str, Any],
    key: str,
    where: str,
    default: float | None = None,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PlanError(f"{where}.{key} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise PlanError(f"{where}.{key} must be finite, got {value!r}")
    if low is not None and (number < low or (number == low and not low_inclusive)):
        bound = ">=" if low_inclusive else ">"
        raise PlanError(f"{where}.{key} must be {bound} {low:g}, got {value!r}")
    if high is not None and number > high:
        raise PlanError(f"{where}.{key} must be <= {high:g}, got {value!r}")
    return number


def _integer(
    data: Mapping[str, Any], key: str, where: str, default: int | None = None, *, low: int = 0
) -> int:
    value = data.get(key, default)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise PlanError(f"{where}.{key} must be an integer, got {value!r}")
    if value < low:
        raise PlanError(f"{where}.{key} must be >= {low}, got {value!r}")
    return int(value)


def _string(data: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise PlanError(f"{where}.{key} must be a string, got {value!r}")
    return value
