"""Pages: the artist's payouts page and onboarding, staff payout runs, the Stripe webhook."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.core.api import error_body
from portal.core.errors import ApplicationError
from portal.payouts import selectors
from portal.payouts.models import PayoutRunStatus
from portal.payouts.services import onboarding, webhooks
from portal.payouts.services import runs as run_services

View = Callable[..., HttpResponse]


def _role(check: str) -> Callable[[View], View]:
    def decorate(view: View) -> View:
        @wraps(view)
        @login_required
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not getattr(request.user, check, False):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def _stripe_mode() -> str:
    if settings.STRIPE_API_BASE:
        return "local Stripe test server"
    key = settings.STRIPE_SECRET_KEY
    if not key:
        return "not configured"
    return "Stripe test mode" if key.startswith(("sk_test_", "rk_test_")) else "Stripe live mode"


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if user.is_platform_staff:
        return redirect("payouts:runs")
    if not user.is_artist:
        raise PermissionDenied
    status = selectors.onboarding_status(artist=user)
    payouts = selectors.payouts_visible_to(user=user)[:100]
    return render(
        request,
        "payouts/home.html",
        {
            "status": status,
            "payouts": payouts,
            "threshold_minor": run_services.payout_threshold(),
            "stripe_configured": bool(settings.STRIPE_SECRET_KEY),
            # The demo's local Stripe test server (runportal starts it without Stripe keys).
            "test_server": bool(settings.STRIPE_API_BASE),
        },
    )


def _to_onboarding(request: HttpRequest) -> HttpResponse:
    """Redirect to a fresh Account Link (creating the connected account if needed)."""
    try:
        url = onboarding.connected_account_onboarding_link(artist=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("payouts:home")
    return redirect(url)


@_role("is_artist")
@require_POST
def onboarding_start(request: HttpRequest) -> HttpResponse:
    return _to_onboarding(request)


def _continue_page(request: HttpRequest, *, heading: str, text: str, button: str) -> HttpResponse:
    # Stripe sends the artist back with a GET, which must change nothing: the page posts itself
    # (static/js/autosubmit.js) and the POST does the work.
    return render(
        request,
        "payouts/onboarding_continue.html",
        {"heading": heading, "text": text, "button": button},
    )


@_role("is_artist")
@require_http_methods(["GET", "POST"])
def onboarding_refresh(request: HttpRequest) -> HttpResponse:
    # Stripe sends the artist here when a link expired or was already used: make a new one.
    if request.method == "GET":
        return _continue_page(
            request,
            heading="Continue with Stripe",
            text="That Stripe link has expired; we are making you a new one.",
            button="Continue with Stripe",
        )
    return _to_onboarding(request)


@_role("is_artist")
@require_http_methods(["GET", "POST"])
def onboarding_return(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _continue_page(
            request,
            heading="Back from Stripe",
            text="We are checking your Stripe account.",
            button="Check my Stripe account",
        )
    # Returning does not mean finishing: read the state from Stripe rather than assume it.
    try:
        onboarding.connected_account_sync(artist=request.user)
    except ApplicationError as exc:
        messages.error(request, f"We could not check your Stripe account just now: {exc.message}")
        return redirect("payouts:home")
    status = selectors.onboarding_status(artist=request.user)
    if status.code == "payouts_enabled":
        messages.success(request, "Your Stripe account is ready: payouts are enabled.")
    else:
        messages.info(request, f"Stripe account status: {status.label}.")
    return redirect("payouts:home")


@_role("is_platform_staff")
def runs(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        period = request.POST.get("period", "")
        if period not in selectors.closed_periods():
            messages.error(request, "Choose a closed period.")
            return redirect("payouts:runs")
        try:
            run = run_services.payout_run_request(period=period, user=request.user)
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect("payouts:runs")
        messages.success(request, f"Payout run for {period} started.")
        return redirect("payouts:run_detail", pk=run.pk)
    return render(
        request,
        "payouts/runs.html",
        {
            "runs": selectors.payout_runs()[:50],
            "flagged": selectors.flagged_payouts()[:50],
            "periods": selectors.closed_periods(),
            "stripe_mode": _stripe_mode(),
            "platform_balance": selectors.platform_balance(),
            "threshold_minor": run_services.payout_threshold(),
        },
    )


@_role("is_platform_staff")
@require_GET
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(selectors.payout_runs(), pk=pk)
    payouts = (
        selectors.payouts_visible_to(user=request.user).filter(period=run.period).order_by("pk")
    )
    return render(
        request,
        "payouts/run_detail.html",
        {
            "run": run,
            "payouts": payouts,
            "running": run.status == PayoutRunStatus.RUNNING,
        },
    )


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    """Stripe's signed events. Verified on the raw body, stored, answered at once; the work
    happens in a job. A bad signature stores nothing."""
    try:
        event, created = webhooks.stripe_event_receive(
            payload=request.body, signature=request.headers.get("Stripe-Signature", "")
        )
    except ApplicationError as exc:
        return JsonResponse(error_body(exc.code, exc.message), status=exc.status)
    return JsonResponse({"received": True, "event": event.event_id, "duplicate": not created})
