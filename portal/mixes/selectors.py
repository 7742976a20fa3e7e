"""Reads for mixes: who may see which render, the vault the planner draws from, timelines."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from portal.core.errors import NotFound
from portal.jobs.progress import JobProgress, job_progress
from portal.mixes.models import Mix, RenderKind
from portal.mixes.moods import MOOD_MAP, known_moods, neighbours, normalise
from portal.stems.models import Stem, StemRole, StemStatus


def renderable_stems() -> QuerySet[Stem]:
    """Approved stems by id: withdrawn, taken-down and unreviewed stems never join a new plan."""
    return Stem.objects.filter(status=StemStatus.APPROVED).order_by("pk")


def vocabulary() -> dict[str, list[dict[str, Any]]]:
    """The words a soundtrack request may use, each with how many approved stems carry it:
    every mood the planner knows (the mood map's, with their neighbours, and any an approved
    stem is tagged with), the genres approved stems are tagged with, and every role."""
    moods: dict[str, int] = {}
    genres: dict[str, int] = {}
    for stem_moods, stem_genres in renderable_stems().values_list("moods", "genres"):
        for tag in {normalise(str(m)) for m in stem_moods or [] if str(m).strip()}:
            moods[tag] = moods.get(tag, 0) + 1
        for tag in {normalise(str(g)) for g in stem_genres or [] if str(g).strip()}:
            genres[tag] = genres.get(tag, 0) + 1
    roles = Counter(renderable_stems().values_list("role", flat=True))
    return {
        "moods": [
            {
                "name": mood,
                "approved_stems": moods.get(mood, 0),
                "on_mood_map": mood in MOOD_MAP,
                "neighbours": neighbours(mood),
            }
            for mood in known_moods(moods)
        ],
        "genres": [{"name": g, "approved_stems": n} for g, n in sorted(genres.items())],
        "roles": [
            {"name": role.value, "approved_stems": roles.get(role.value, 0)} for role in StemRole
        ],
    }


def mix_visible_to(mix: Mix, user: Any) -> bool:
    """Soundtracks: the requester and staff. Previews: the stem's artist, curators and staff."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if getattr(user, "is_platform_staff", False):
        return True
    if mix.kind == RenderKind.SOUNDTRACK:
        return mix.requested_by_id is not None and mix.requested_by_id == user.pk
    if getattr(user, "is_curator", False):
        return True
    stem = mix.preview_of
    return stem is not None and stem.artist_id == user.pk


def mix_get_for_user(
    *, mix_id: uuid.UUID | str, user: Any, kind: str | None = None, app: Any = None
) -> Mix:
    """The mix if this user may see it; NotFound otherwise, so ids of others' renders do not
    leak through a different answer. A client app (`app`, when its credential made the
    request) sees only the mixes it requested itself, not everything its owner may see."""
    queryset = Mix.objects.select_related("job", "preview_of", "requested_by")
    if kind is not None:
        queryset = queryset.filter(kind=kind)
    try:
        mix = queryset.filter(pk=mix_id).first()
    except (ValueError, TypeError):
        mix = None
    if app is not None and (mix is None or mix.client_app_id != app.pk):
        mix = None
    if mix is None or not mix_visible_to(mix, user):
        raise NotFound("mix_not_found", "No such mix among the ones you may see.")
    return mix


def soundtracks_for_user(*, user: Any, app: Any = None) -> QuerySet[Mix]:
    """A person's soundtracks; through a client app's credential, that app's only."""
    mixes = Mix.objects.filter(kind=RenderKind.SOUNDTRACK).select_related("job")
    return mixes.filter(client_app=app) if app is not None else mixes.filter(requested_by=user)


def soundtrack_family(*, mix: Mix, user: Any, app: Any = None) -> list[Mix]:
    """Every take of `mix`'s family this person (or app) may see, the first take first."""
    root_id = mix.family_id or mix.pk
    return list(
        soundtracks_for_user(user=user, app=app)
        .filter(Q(pk=root_id) | Q(family_id=root_id))
        .order_by("created_at", "pk")
    )


def stem_titles(ids: list[int]) -> dict[int, str]:
    return dict(Stem.objects.filter(pk__in=ids).values_list("pk", "title"))


def changes_described(mix: Mix) -> list[str]:
    """What a version changed from its parent, in words (empty for a first take)."""
    changes = mix.changes or {}
    words = []
    if changes.get("variation"):
        words.append(f"Variation: seed {changes.get('seed')}")
    elif "seed" in changes:
        words.append(f"New seed {changes['seed']}")
    if "length_s" in changes:
        words.append(f"Length {float(changes['length_s']):g} s")
    if swap := changes.get("swap"):
        words.append(f"Stem {swap.get('from')} swapped for {swap.get('to')}")
    if "pinned_stem_ids" in changes:
        pins = ", ".join(str(i) for i in changes["pinned_stem_ids"]) or "none"
        words.append(f"Pinned: {pins}")
    if "muted_stem_ids" in changes:
        mutes = ", ".join(str(i) for i in changes["muted_stem_ids"]) or "none"
        words.append(f"Muted: {mutes}")
    if "regenerate_section" in changes:
        index = int(changes["regenerate_section"])
        sections = (mix.plan or {}).get("sections") or []
        name = f" ({sections[index]['name']})" if index < len(sections) else ""
        words.append(f"Section {index + 1}{name} re-drawn")
    return words


def previews_of_stem(*, stem: Stem) -> QuerySet[Mix]:
    return Mix.objects.filter(kind=RenderKind.PREVIEW, preview_of=stem)


def mix_progress(mix: Mix) -> int:
    if mix.status == "done":
        return 100
    job = mix.job
    return int(job.progress) if job is not None else 0


def mix_stage(mix: Mix) -> JobProgress:
    """The render's stage and estimated time left, from its job; a mix without one (made
    before jobs, or done inline) reads as its status."""
    if mix.job is not None:
        return job_progress(mix.job)
    return JobProgress(stage=mix.get_status_display().lower(), elapsed_s=None, eta_s=None)


# --- the attribution timeline ------------------------------------------------------------------

TIMELINE_ROW_HEIGHT = 18
TIMELINE_COLOURS = (
    "#8a3b12",
    "#1f5fbf",
    "#1d6b3a",
    "#8a5a00",
    "#6b2f8a",
    "#a4161a",
    "#0f6f75",
    "#555b66",
)


@dataclass(frozen=True)
class TimelineRow:
    stem_id: str
    title: str
    artists: str
    colour: str
    y: int
    cells: list[tuple[int, float]]  # (second, share) for every second the stem is heard
    seconds_heard: int
    mean_share: float
    spans: list[tuple[float, float]]


@dataclass(frozen=True)
class Timeline:
    seconds: int
    rows: list[TimelineRow]
    row_height: int = TIMELINE_ROW_HEIGHT

    @property
    def height(self) -> int:
        return max(1, len(self.rows)) * self.row_height


def mix_timeline(mix: Mix) -> Timeline:
    """One row per stem across the mix's seconds, from the signed manifest's attribution map."""
    manifest = mix.manifest or {}
    seconds = (manifest.get("attribution") or {}).get("seconds") or []
    stem_entries = manifest.get("stems") or []
    ids = [str(entry.get("id")) for entry in stem_entries]
    numeric = [int(i) for i in ids if i.isdigit()]
    titles = {str(s.pk): s.title for s in Stem.objects.filter(pk__in=numeric)}
    spans: dict[str, list[tuple[float, float]]] = {}
    for placement in manifest.get("placements") or []:
        spans.setdefault(str(placement.get("stem")), []).append(
            (float(placement.get("start_s", 0.0)), float(placement.get("end_s", 0.0)))
        )
    rows = []
    for index, entry in enumerate(stem_entries):
        stem_id = str(entry.get("id"))
        cells = [
            (int(second.get("t", t)), float(second["shares"][stem_id]))
            for t, second in enumerate(seconds)
            if stem_id in (second.get("shares") or {})
        ]
        artists = ", ".join(str(c.get("artist", "")) for c in entry.get("credits") or [])
        rows.append(
            TimelineRow(
                stem_id=stem_id,
                title=titles.get(stem_id, f"Stem {stem_id}"),
                artists=artists,
                colour=TIMELINE_COLOURS[index % len(TIMELINE_COLOURS)],
                y=index * TIMELINE_ROW_HEIGHT,
                cells=cells,
                seconds_heard=len(cells),
                mean_share=sum(share for _, share in cells) / len(cells) if cells else 0.0,
                spans=sorted(spans.get(stem_id, [])),
            )
        )
    return Timeline(seconds=max(1, len(seconds)), rows=rows)
