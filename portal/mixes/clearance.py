"""Clearance lookup: which renders a clip from anywhere comes from, who licensed them and when.

What a creator needs to clear a Content ID claim in one step. The clip is decoded within bounds
and matched against the self-output guard's render index (`renderer.clearance`,
`stems.fingerprint_indexes.render_clearance_matches`); each render found is then described from
its row here: a soundtrack names its licensee and licence date and links to its public
certificate; a preview (heard by the vault's curators only) or other platform output is named
as such, with no licence to show.

What an answer discloses, to anyone holding a clip: the licensee's display name (the name the
certificate itself carries) and the client app's name, the licence date, the render id and the
credits on the certificate. Never an e-mail address, the request's details or any credential.
The render id is only learnt by holding audio of that render, and the certificate's contents
are what a licensee shows to whoever disputes their use anyway.

Other domains whose output is in the index (the live player's stream chunks) describe theirs
through `clearance_source_register`, called from their AppConfig.ready(), so mixes never
imports a domain above it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from portal.accounts.models import User
from portal.core.errors import ApplicationError, NotFound
from portal.mixes.deliverables import cue_title
from portal.mixes.models import Mix, RenderKind, RenderStatus
from portal.stems.fingerprint_indexes import indexed_renders, render_clearance_matches
from renderer.clearance import Confirmed
from renderer.clearance_clip import ClipRejected, read_clip
from renderer.fingerprint import conclusive


@dataclass(frozen=True)
class RenderSource:
    """What an answer says of one render: what it is, and the licence it was delivered under."""

    render_id: str
    kind: str  # "soundtrack", "preview", "stream", ... (the domain's own word)
    title: str = ""
    licensed: bool = False
    licensee: str = ""  # display name, never an e-mail address
    client_app: str = ""
    licensed_at: datetime | None = None
    # Why there is no certificate, when there is none (shown to the creator).
    note: str = ""
    mix_id: uuid.UUID | None = None  # a soundtrack's: its public certificate's address


@dataclass(frozen=True)
class ClearanceMatch:
    source: RenderSource
    offset_s: float  # where in the render the matched material starts ...
    clip_offset_s: float  # ... and where in the clip
    matched_s: float  # how long clip and render overlap at that alignment
    confidence: float  # how alike clip and render sound there, 0..1 (renderer.clearance.confirm)
    aligned_landmarks: int
    shared_landmarks: int
    chance_landmarks: int  # what chance piles onto one offset (Match.chance_matched)
    conclusive: bool  # strong enough for the self-output guard to refuse an upload


@dataclass(frozen=True)
class Clearance:
    clip_format: str
    clip_duration_s: float
    clip_sample_rate: int
    indexed_renders: int
    matches: list[ClearanceMatch]


SourceResolver = Callable[[list[str]], dict[str, RenderSource]]
_SOURCES: dict[str, SourceResolver] = {}


def clearance_source_register(prefix: str, resolve: SourceResolver) -> None:
    """Describe the renders whose RenderedAudio key starts with `prefix` + ":"; `resolve` maps
    a batch of such keys to what they are (keys it does not know are left out)."""
    _SOURCES[prefix] = resolve


def _mix_sources(keys: list[str]) -> dict[str, RenderSource]:
    ids = {}
    for key in keys:
        try:
            ids[key] = uuid.UUID(key.split(":", 1)[1])
        except ValueError:
            continue
    mixes = Mix.objects.select_related("requested_by__artist_profile", "client_app").in_bulk(
        list(ids.values())
    )
    sources = {}
    for key, mix_id in ids.items():
        mix = mixes.get(mix_id)
        if mix is not None:
            sources[key] = _mix_source(mix)
    return sources


def public_name(user: User | None) -> str:
    """The name a public answer gives a licensee: their display name, unless it is (or falls
    back to a username that is) an e-mail address, which is never disclosed."""
    name = user.display_name if user is not None else ""
    return "" if "@" in name else name


def _mix_source(mix: Mix) -> RenderSource:
    if mix.kind == RenderKind.SOUNDTRACK and mix.status == RenderStatus.DONE:
        user = mix.requested_by
        return RenderSource(
            render_id=str(mix.pk),
            kind="soundtrack",
            title=cue_title(mix),
            licensed=True,
            licensee=public_name(user),
            client_app=mix.client_app.name if mix.client_app is not None else "",
            licensed_at=mix.finished_at,
            mix_id=mix.pk,
        )
    if mix.kind == RenderKind.PREVIEW:
        return RenderSource(
            render_id=str(mix.pk),
            kind="preview",
            note="A preview the vault's curators listen to; it is not licensed to anyone.",
        )
    return RenderSource(
        render_id=str(mix.pk),
        kind=str(mix.kind),
        client_app=mix.client_app.name if mix.client_app is not None else "",
        note="Platform audio licensed for listening in an app, not for use in other media.",
    )


clearance_source_register("mix", _mix_sources)


def render_sources(keys: list[str]) -> dict[str, RenderSource]:
    by_prefix: dict[str, list[str]] = {}
    for key in keys:
        by_prefix.setdefault(key.split(":", 1)[0], []).append(key)
    found: dict[str, RenderSource] = {}
    for prefix, batch in by_prefix.items():
        resolve = _SOURCES.get(prefix)
        if resolve is not None:
            found.update(resolve(batch))
    for key in keys:  # output of a kind nobody describes is still the platform's own
        found.setdefault(key, RenderSource(render_id=key, kind="render", note="Platform audio."))
    return found


def _clearance_match(found: Confirmed, source: RenderSource) -> ClearanceMatch:
    match = found.match
    return ClearanceMatch(
        source=source,
        # The clip's first second at the render's start_s: a clip that begins before the
        # render (its intro cut in late) starts matching at -start_s into the clip.
        offset_s=round(max(0.0, found.start_s), 2),
        clip_offset_s=round(max(0.0, -found.start_s), 2),
        matched_s=round(match.overlap_s, 2),
        confidence=round(found.similarity, 3),
        aligned_landmarks=match.matched_hashes,
        shared_landmarks=match.shared_hashes,
        chance_landmarks=match.chance_matched,
        conclusive=conclusive(match),
    )


def clearance_lookup(*, data: bytes) -> Clearance:
    """The renders the clip `data` comes from, best first; ApplicationError (status 400) with
    what to fix when the clip cannot be used (see renderer.clearance.read_clip)."""
    try:
        clip = read_clip(data)
    except ClipRejected as exc:
        raise ApplicationError(exc.code, exc.message, fields={"file": [exc.message]}) from None
    found = render_clearance_matches(clip)
    sources = render_sources([row.key for _, row in found])
    return Clearance(
        clip_format=clip.format,
        clip_duration_s=round(clip.duration_s, 2),
        clip_sample_rate=clip.sample_rate,
        indexed_renders=indexed_renders(),
        matches=[_clearance_match(confirmed, sources[row.key]) for confirmed, row in found],
    )


def clearance_certificate_mix(*, mix_id: uuid.UUID | str) -> Mix:
    """A licensed soundtrack whose public certificate may be shown; NotFound otherwise."""
    mix = (
        Mix.objects.select_related("requested_by__artist_profile", "client_app")
        .filter(pk=mix_id, kind=RenderKind.SOUNDTRACK, status=RenderStatus.DONE)
        .first()
    )
    if mix is None:
        raise NotFound("not_found", "No licensed soundtrack has this render id.")
    return mix
