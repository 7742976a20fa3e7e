"""Writes for mixes: request a soundtrack or a preview, and queue its render.

A render is planned when it is requested (so an impossible request fails at once, with advice)
and rendered by the "mixes.render" job, on the render queue (see mixes.rendering).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from portal.audit.services import audit_record
from portal.jobs.services import job_enqueue
from portal.mixes.models import Mix, RenderKind, RenderStatus
from portal.mixes.planner import plan_preview, plan_soundtrack
from portal.mixes.quotas import render_quota_check
from portal.mixes.selection import candidate_from_stem
from portal.mixes.selectors import previews_of_stem
from portal.mixes.soundtrack_request import soundtrack_request_from
from portal.stems.models import Stem
from renderer.plan import parse_plan, plan_hash

RENDER_JOB_KIND = "mixes.render"


def plan_sha256(plan: dict[str, Any]) -> str:
    """The hash a mix records of its plan (previews with the same one are not queued twice)."""
    return plan_hash(parse_plan(plan))


def _enqueue_render(*, mix: Mix, owner: Any) -> None:
    job = job_enqueue(
        kind=RENDER_JOB_KIND,
        args={"mix_id": str(mix.pk)},
        owner=owner,
        dedupe_key=f"{RENDER_JOB_KIND}:{mix.pk}",
    )
    mix.job = job
    mix.save(update_fields=["job"])


@transaction.atomic
def soundtrack_request(
    *,
    user: Any,
    data: dict[str, Any],
    app: Any = None,
    parent: Mix | None = None,
    changes: dict[str, Any] | None = None,
    name: str = "",
    notes: str = "",
) -> Mix:
    """Plan a soundtrack from the vault and queue its render. `app` is the client app whose
    credential asked for it (None from the web page): only that app's plays of it earn.
    `parent` and `changes`: a new version of that soundtrack (portal.mixes.versions), in its
    family.

    Raises ApplicationError("invalid") for a request that breaks a rule,
    ApplicationError("render_quota", status 429) over the account's or app's render quota (see
    mixes.quotas), and ApplicationError("no_compatible_stems", status 422) when the vault
    cannot satisfy it.
    """
    request = soundtrack_request_from(data)
    # Before planning, and under the lock it takes on the account or app row until this
    # transaction ends: two requests at the last free slot cannot both get it.
    render_quota_check(user=user, app=app, duration_s=request.duration_s)
    plan = plan_soundtrack(request)
    mix = Mix(
        kind=RenderKind.SOUNDTRACK,
        requested_by=user,
        client_app=app,
        request=request.to_dict(),
        plan=plan,
        plan_sha256=plan_sha256(plan),
        audio_format=request.format,
        parent=parent,
        family=(parent.family or parent) if parent is not None else None,
        changes=changes or {},
        name=name,
        notes=notes,
    )
    mix.full_clean()
    mix.save()
    _enqueue_render(mix=mix, owner=user)
    audit_record(
        actor=user,
        action="mix.requested",
        subject=f"mix:{mix.pk}",
        after={
            "kind": mix.kind,
            "request": mix.request,
            "plan_sha256": mix.plan_sha256,
            "client_app": app.pk if app is not None else None,
            **({"parent": str(parent.pk), "changes": mix.changes} if parent is not None else {}),
        },
    )
    return mix


@transaction.atomic
def mix_preview_request(*, stem: Stem) -> Mix:
    """Queue a 30 s preview of `stem` in context with approved vault stems.

    Idempotent: while a preview with the same plan is queued, rendering or done, that one is
    returned; a stem whose metadata changed (a new plan) gets a new preview. Previews are the
    platform's, for its curators: no artist's render quota applies, and only stems entering
    review (a curator-gated move after the first) queue them.
    """
    # The stem's row lock makes the look-up and the insert below one step: two announcements
    # of the same stem at once still queue a single preview.
    Stem.objects.select_for_update().filter(pk=stem.pk).first()
    plan = plan_preview(candidate_from_stem(stem))
    digest = plan_sha256(plan)
    existing = (
        previews_of_stem(stem=stem)
        .filter(plan_sha256=digest)
        .exclude(status=RenderStatus.FAILED)
        .first()
    )
    if existing is not None:
        return existing
    mix = Mix(
        kind=RenderKind.PREVIEW,
        preview_of=stem,
        request={"preview_of": stem.pk, "duration_s": plan["duration_s"]},
        plan=plan,
        plan_sha256=digest,
        audio_format=plan["format"],
    )
    mix.full_clean()
    mix.save()
    _enqueue_render(mix=mix, owner=stem.artist)
    audit_record(
        actor=None,
        action="mix.preview_requested",
        subject=f"mix:{mix.pk}",
        stem=stem,
        after={"kind": mix.kind, "plan_sha256": digest},
    )
    return mix
