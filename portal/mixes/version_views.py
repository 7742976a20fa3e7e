"""The soundtrack page's iteration: the family side by side, and forms for a variation, a new
version with changes, and a take's name and notes (the same services as the Sync API)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from portal.core.errors import ApplicationError, NotFound
from portal.mixes.forms import DescribeForm, VersionForm
from portal.mixes.models import Mix, RenderKind
from portal.mixes.selectors import (
    changes_described,
    mix_get_for_user,
    mix_progress,
    soundtrack_family,
    stem_titles,
)
from portal.mixes.versions import (
    soundtrack_describe,
    soundtrack_variations_create,
    soundtrack_version_create,
)


def version_form_for(mix: Mix, data: Any = None) -> VersionForm:
    plan = mix.plan or {}
    ids = [int(s["id"]) for s in plan.get("stems", []) if str(s.get("id", "")).isdigit()]
    titles = stem_titles(ids)
    return VersionForm(
        data,
        stems=[(i, titles.get(i, f"Stem {i}")) for i in ids],
        sections=[s["name"] for s in plan.get("sections", [])],
    )


def detail_context(request: HttpRequest, mix: Mix, **forms: Any) -> dict[str, Any]:
    """What the soundtrack page shows: the take, its family side by side, the forms."""
    context: dict[str, Any] = {"mix": mix, "progress": mix_progress(mix)}
    if mix.kind == RenderKind.SOUNDTRACK:
        family = soundtrack_family(mix=mix, user=request.user)
        context["family"] = [
            {"mix": m, "number": n, "changes": changes_described(m), "current": m.pk == mix.pk}
            for n, m in enumerate(family, start=1)
        ]
        context["version_form"] = forms.get("version_form") or version_form_for(mix)
        context["describe_form"] = forms.get("describe_form") or DescribeForm(
            initial={"name": mix.name, "notes": mix.notes}
        )
    return context


def _soundtrack(request: HttpRequest, mix_id: str) -> Mix:
    try:
        return mix_get_for_user(mix_id=mix_id, user=request.user, kind=RenderKind.SOUNDTRACK)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _refused(request: HttpRequest, mix: Mix, form: Any, exc: ApplicationError) -> HttpResponse:
    for field, errors in (exc.fields or {}).items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)
    if not exc.fields:
        form.add_error(None, exc.message)
    context = detail_context(request, mix, version_form=form)
    return render(request, "mixes/soundtrack_detail.html", context, status=exc.status)


@login_required
@require_POST
def soundtrack_variation(request: HttpRequest, mix_id: str) -> HttpResponse:
    mix = _soundtrack(request, mix_id)
    try:
        (variation,) = soundtrack_variations_create(user=request.user, parent=mix, count=1)
    except ApplicationError as exc:
        return _refused(request, mix, version_form_for(mix), exc)
    return redirect("mixes:soundtrack_detail", mix_id=variation.pk)


@login_required
@require_POST
def soundtrack_version(request: HttpRequest, mix_id: str) -> HttpResponse:
    mix = _soundtrack(request, mix_id)
    form = version_form_for(mix, request.POST)
    if not form.is_valid():
        context = detail_context(request, mix, version_form=form)
        return render(request, "mixes/soundtrack_detail.html", context, status=400)
    try:
        version = soundtrack_version_create(
            user=request.user,
            parent=mix,
            changes=form.changes(mix.request),
            name=form.cleaned_data.get("name") or "",
        )
    except ApplicationError as exc:
        return _refused(request, mix, form, exc)
    return redirect("mixes:soundtrack_detail", mix_id=version.pk)


@login_required
@require_POST
def soundtrack_describe_view(request: HttpRequest, mix_id: str) -> HttpResponse:
    mix = _soundtrack(request, mix_id)
    form = DescribeForm(request.POST)
    if not form.is_valid():
        context = detail_context(request, mix, describe_form=form)
        return render(request, "mixes/soundtrack_detail.html", context, status=400)
    soundtrack_describe(user=request.user, mix=mix, **form.cleaned_data)
    return redirect("mixes:soundtrack_detail", mix_id=mix.pk)
