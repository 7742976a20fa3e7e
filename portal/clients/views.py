"""Pages: my client apps and their credentials; staff's list of apps with their decisions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from portal.clients import selectors, services, webhook_services
from portal.clients.forms import AppDecisionForm, AppRegisterForm, CredentialForm
from portal.core.errors import ApplicationError

REFUSALS_SHOWN_DAYS = 30


@login_required
def app_list(request: HttpRequest) -> HttpResponse:
    form = AppRegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            app = services.app_register(owner=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"{app.name} is registered; staff will review it.")
            return redirect("clients:list")
    return render(
        request,
        "clients/app_list.html",
        {
            "apps": selectors.apps_of(owner=request.user),  # type: ignore[arg-type]
            "form": form,
            "credential_form": CredentialForm(),
            # Shown once, on the page after it was issued; only its hash is kept.
            "new_credential": request.session.pop("new_credential", None),
        },
    )


@login_required
@require_POST
def credential_create(request: HttpRequest, app_id: int) -> HttpResponse:
    form = CredentialForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the credential a name (up to 80 characters).")
        return redirect("clients:list")
    try:
        issued = services.credential_issue(
            app_id=app_id,
            actor=request.user,  # type: ignore[arg-type]
            name=form.cleaned_data["name"],
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        request.session["new_credential"] = issued.plain
    return redirect("clients:list")


@login_required
@require_POST
def credential_revoke(request: HttpRequest, app_id: int, credential_id: int) -> HttpResponse:
    try:
        credential = services.credential_revoke(credential_id=credential_id, actor=request.user)  # type: ignore[arg-type]
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Credential “{credential.name}” revoked.")
    return redirect("clients:list")


def _staff(request: HttpRequest) -> Any:
    user: Any = request.user
    if not user.is_platform_staff:
        raise PermissionDenied("Only staff decide on client apps.")
    return user


@login_required
def staff_apps(request: HttpRequest) -> HttpResponse:
    _staff(request)
    since = timezone.now() - timedelta(days=REFUSALS_SHOWN_DAYS)
    refusals = selectors.refusals_by_app(since=since)
    apps = list(selectors.apps_for_staff())
    for app in apps:
        app.refused_counts = refusals.get(app.pk, {})  # type: ignore[attr-defined]
    return render(
        request,
        "clients/staff_apps.html",
        {"apps": apps, "decision_form": AppDecisionForm(), "refusals_days": REFUSALS_SHOWN_DAYS},
    )


@login_required
@require_POST
def staff_decide(request: HttpRequest, app_id: int) -> HttpResponse:
    staff = _staff(request)
    form = AppDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose approve, reject or suspend.")
        return redirect("clients:staff")
    try:
        app = services.app_decide(app_id=app_id, actor=staff, **form.cleaned_data)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{app.name}: {app.get_status_display().lower()}.")
    return redirect("clients:staff")


@login_required
@require_POST
def webhook_set(request: HttpRequest, app_id: int) -> HttpResponse:
    try:
        app = webhook_services.app_webhook_set(
            app_id=app_id,
            actor=request.user,  # type: ignore[arg-type]
            url=str(request.POST.get("url", ""))[:500],
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            f"{app.name} hears of finished renders at {app.webhook_url}."
            if app.webhook_url
            else f"{app.name} has no webhook any more.",
        )
    return redirect("clients:list")
