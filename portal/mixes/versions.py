"""Iterating on a take: variations (the same request with new seeds), versions with changes
(seed, length, pins, mutes, a swap, one section re-drawn), and a take's name and notes.

Every version is a soundtrack of its own: a request derived from its parent's, planned,
rendered and signed like any other (so it has its own manifest and counts against the render
quota), and deterministic from that request alone: the iteration fields it carries
(`form_duration_s`, `regenerated_sections`, pins and mutes) are what the planner reads
(portal.mixes.retakes). A version belongs to its parent's family: the first take and every
version made from it or from its versions.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from portal.audit.services import audit_record
from portal.core.errors import ApplicationError
from portal.mixes.models import Mix
from portal.mixes.services import soundtrack_request

MAX_VARIATIONS = 4
CHANGE_FIELDS = (
    "seed",
    "length_s",
    "pinned_stem_ids",
    "muted_stem_ids",
    "swap",
    "regenerate_section",
)


def _invalid(field: str, message: str) -> ApplicationError:
    return ApplicationError(
        "invalid", f"Invalid input: {field}: {message}", fields={field: [message]}, status=400
    )


def family_next_seeds(parent: Mix, count: int) -> list[int]:
    """Seeds no take of the family has used yet: one past the highest, so every variation is
    new and the numbers say in which order they were asked for."""
    root = parent.family or parent
    members = list(Mix.objects.filter(family=root).values_list("request", flat=True))
    used = [int((root.request or {}).get("seed") or 0)]
    used += [int((r or {}).get("seed") or 0) for r in members]
    used += [
        int(s.get("seed", 0)) for r in members for s in (r or {}).get("regenerated_sections") or []
    ]
    start = max(used) + 1
    return list(range(start, start + count))


def _plan_stem_ids(parent: Mix) -> set[int]:
    return {int(s["id"]) for s in (parent.plan or {}).get("stems", []) if str(s["id"]).isdigit()}


def request_with_changes(parent: Mix, changes: dict[str, Any], *, new_seed: int) -> dict[str, Any]:
    """The parent's request with `changes` applied (see the module docstring). `new_seed`
    seeds a re-drawn section. Refuses an empty change and changes that make no sense."""
    given = {k: v for k, v in changes.items() if k in CHANGE_FIELDS and v is not None}
    if not given:
        raise ApplicationError(
            "no_changes",
            "Say what the new version changes: one of " + ", ".join(CHANGE_FIELDS) + ".",
            status=400,
        )
    data = dict(parent.request)
    if "seed" in given:
        # A new seed is a new take of the same request: re-drawn sections go with the old one.
        data["seed"] = int(given["seed"])
        data.pop("regenerated_sections", None)
        data.pop("form_duration_s", None)
    if "length_s" in given:
        length = float(given["length_s"])
        if length != float(data["duration_s"]) and data.get("form_duration_s") is None:
            data["form_duration_s"] = float(data["duration_s"])
        data["duration_s"] = length
        if data.get("form_duration_s") == length:
            data.pop("form_duration_s")  # back to the kept form's own length: that take itself
    # A list given replaces the parent's (an empty one clears it); left out, it is kept.
    pinned, muted = (
        {int(i) for i in (given[name] if name in given else data.get(name)) or []}
        for name in ("pinned_stem_ids", "muted_stem_ids")
    )
    if "swap" in given:
        swap = given["swap"]
        old, new = int(swap["from"]), int(swap["to"])
        if old not in _plan_stem_ids(parent):
            raise _invalid("swap", f"Stem {old} is not in this soundtrack; swap one of its stems.")
        if old == new:
            raise _invalid("swap", "Swap a stem for a different one.")
        pinned.discard(old)
        muted.discard(new)
        muted.add(old)
        pinned.add(new)
    data["pinned_stem_ids"] = sorted(pinned)
    data["muted_stem_ids"] = sorted(muted)
    if "regenerate_section" in given:
        index = int(given["regenerate_section"])
        sections = (parent.plan or {}).get("sections") or []
        if not 0 <= index < len(sections):
            raise _invalid(
                "regenerate_section",
                f"This soundtrack has sections 0 to {len(sections) - 1}; "
                f"there is no section {index}.",
            )
        data["regenerated_sections"] = [
            *(data.get("regenerated_sections") or []),
            {"index": index, "seed": new_seed},
        ]
    return data


@transaction.atomic
def soundtrack_version_create(
    *,
    user: Any,
    parent: Mix,
    changes: dict[str, Any],
    app: Any = None,
    name: str = "",
    notes: str = "",
) -> Mix:
    """A new version of `parent` with `changes` ({seed?, length_s?, pinned_stem_ids?,
    muted_stem_ids?, swap?: {from, to}, regenerate_section?}), queued for rendering."""
    # The parent's row lock: two versions asked for at once do not draw the same new seed.
    Mix.objects.select_for_update().filter(pk=(parent.family_id or parent.pk)).first()
    seed = family_next_seeds(parent, 1)[0]
    data = request_with_changes(parent, changes, new_seed=seed)
    recorded = {k: v for k, v in changes.items() if k in CHANGE_FIELDS and v is not None}
    if "regenerate_section" in recorded:
        recorded["section_seed"] = seed
    return soundtrack_request(
        user=user, data=data, app=app, parent=parent, changes=recorded, name=name, notes=notes
    )


@transaction.atomic
def soundtrack_variations_create(
    *, user: Any, parent: Mix, count: int = 1, app: Any = None
) -> list[Mix]:
    """`count` variations of `parent`: its request with seeds the family has not used."""
    if not 1 <= count <= MAX_VARIATIONS:
        raise _invalid("count", f"Ask for 1 to {MAX_VARIATIONS} variations at a time.")
    Mix.objects.select_for_update().filter(pk=(parent.family_id or parent.pk)).first()
    versions = []
    for seed in family_next_seeds(parent, count):
        data = request_with_changes(parent, {"seed": seed}, new_seed=seed)
        versions.append(
            soundtrack_request(
                user=user,
                data=data,
                app=app,
                parent=parent,
                changes={"seed": seed, "variation": True},
            )
        )
    return versions


@transaction.atomic
def soundtrack_describe(
    *, user: Any, mix: Mix, name: str | None = None, notes: str | None = None
) -> Mix:
    """Set a take's name and notes (either left out stays as it is)."""
    before = {"name": mix.name, "notes": mix.notes}
    fields: list[str] = []
    if name is not None:
        mix.name, fields = name.strip(), [*fields, "name"]
    if notes is not None:
        mix.notes, fields = notes.strip(), [*fields, "notes"]
    if not fields:
        return mix
    mix.full_clean(exclude=[f.name for f in Mix._meta.fields if f.name not in fields])
    mix.save(update_fields=fields)
    audit_record(
        actor=user,
        action="mix.described",
        subject=f"mix:{mix.pk}",
        before=before,
        after={"name": mix.name, "notes": mix.notes},
    )
    return mix
