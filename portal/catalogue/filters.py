"""The catalogue's filters, read from a query string: every value checked against what the
vault knows, so a typo is a 400 naming the known values instead of an empty page.

Moods are the planner's (the mood map's and any an approved stem carries: mixes.moods), genres
and roles the vocabulary's (GET /api/v1/vocabulary/), keys any the key grammar reads
(portal.core.music: "F#m", "Bb", "A minor"), matched by pitch so F# and Gb are one key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from portal.core.errors import ApplicationError
from portal.core.music import MusicalKey, parse_key
from portal.mixes.moods import known_moods, normalise
from portal.mixes.selectors import vocabulary
from portal.stems.models import StemKind, StemRole

TEXT_FILTERS = ("q", "mood", "genre", "role", "kind", "key")
RANGE_FILTERS = ("bpm_min", "bpm_max", "length_min", "length_max")
# Paging and the favourites switch are read here too, so that an unknown name is refused.
OTHER_PARAMETERS = ("page", "page_size", "favourites", "format")
KNOWN_PARAMETERS = (*TEXT_FILTERS, *RANGE_FILTERS, *OTHER_PARAMETERS)


@dataclass(frozen=True)
class CatalogueFilters:
    q: str = ""
    mood: str = ""
    genre: str = ""
    role: str = ""
    kind: str = ""
    key: MusicalKey | None = None
    bpm_min: Decimal | None = None
    bpm_max: Decimal | None = None
    length_min: float | None = None
    length_max: float | None = None
    favourites: bool = False

    @property
    def active(self) -> bool:
        return any(getattr(self, name) not in ("", None, False) for name in self.__annotations__)


def _refuse(name: str, value: str, known: list[str], what: str) -> ApplicationError:
    listed = ", ".join(known) if known else "(none yet)"
    return ApplicationError(
        f"unknown_{name}",
        f"The {what} {value!r} is not one the catalogue knows. Choose one of: {listed}.",
        fields={name: [f"Choose one of: {listed}."]},
        status=400,
    )


def _number(params: Mapping[str, Any], name: str) -> Decimal | None:
    raw = str(params.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value < 0:
        raise ApplicationError(
            "invalid",
            f"Invalid input: {name}: {raw!r} is not a non-negative number.",
            fields={name: ["A non-negative number."]},
            status=400,
        )
    return value


def parse_filters(params: Mapping[str, Any], *, allow_unknown: bool = False) -> CatalogueFilters:
    """The filters of a query string (a QueryDict or a dict); ApplicationError 400 for an
    unknown parameter or value, naming the known ones. `allow_unknown` lets the HTML page
    ignore parameters it does not know (a browser's form may send its submit button)."""
    unknown = sorted(set(params) - set(KNOWN_PARAMETERS))
    if unknown and not allow_unknown:
        listed = ", ".join(KNOWN_PARAMETERS)
        raise ApplicationError(
            "unknown_filter",
            f"Unknown filter {unknown[0]!r}. The catalogue filters by: {listed}.",
            fields={name: [f"Filter by one of: {listed}."] for name in unknown},
            status=400,
        )
    text = {name: str(params.get(name) or "").strip() for name in TEXT_FILTERS}
    words = vocabulary() if text["mood"] or text["genre"] else {"moods": [], "genres": []}
    mood = normalise(text["mood"])
    if mood:
        known = known_moods(m["name"] for m in words["moods"])
        if mood not in known:
            raise _refuse("mood", text["mood"], known, "mood")
    genre = normalise(text["genre"])
    if genre:
        known = [g["name"] for g in words["genres"]]
        if genre not in known:
            raise _refuse("genre", text["genre"], known, "genre")
    role = text["role"].lower()
    if role and role not in StemRole.values:
        raise _refuse("role", text["role"], list(StemRole.values), "role")
    kind = text["kind"].lower()
    if kind and kind not in StemKind.values:
        raise _refuse("kind", text["kind"], list(StemKind.values), "kind")
    key = parse_key(text["key"]) if text["key"] else None
    if text["key"] and key is None:
        raise ApplicationError(
            "unknown_key",
            f"The key {text['key']!r} cannot be read. Write a key as C, F#m, Bb, Ebm or "
            "A minor (a letter A-G, an optional # or b, and m or minor for a minor key).",
            fields={"key": ["A key such as C, F#m, Bb or A minor."]},
            status=400,
        )
    length_min, length_max = _number(params, "length_min"), _number(params, "length_max")
    flag = str(params.get("favourites") or "").strip().lower()
    if flag not in ("", "0", "1", "true", "false", "on"):
        raise _refuse("favourites", flag, ["1", "0"], "favourites switch")
    return CatalogueFilters(
        q=text["q"][:200],
        mood=mood,
        genre=genre,
        role=role,
        kind=kind,
        key=key,
        bpm_min=_number(params, "bpm_min"),
        bpm_max=_number(params, "bpm_max"),
        length_min=float(length_min) if length_min is not None else None,
        length_max=float(length_max) if length_max is not None else None,
        favourites=flag in ("1", "true", "on"),
    )
