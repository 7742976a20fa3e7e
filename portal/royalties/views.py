from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from portal.core.csv_export import csv_response
from portal.core.errors import ApplicationError, PermissionDenied
from portal.core.money import amount_text
from portal.core.pages import pages_speak_http
from portal.royalties import (
    drilldown,
    estimates,
    explain,
    held,
    overview,
    releases,
    selectors,
    services,
    statements,
)
from portal.royalties.forms import ClosePeriodForm, ReleaseForm
from portal.royalties.periods import month_of, previous_month
from portal.royalties.rules import RULES


def _subject(request: HttpRequest) -> Any:
    return selectors.earnings_subject(viewer=request.user, artist_id=request.GET.get("artist"))


@login_required
@pages_speak_http
def dashboard(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if user.is_platform_staff:
        return redirect("royalties:periods")
    artist = _subject(request)
    return render(
        request,
        "royalties/dashboard.html",
        {"overview": overview.earnings_overview(artist=artist)},
    )


@login_required
@pages_speak_http
def periods(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if not user.is_platform_staff:
        raise PermissionDenied("forbidden", "Only staff close periods.")
    form = ClosePeriodForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            period = services.period_close(
                month=data["month"],
                pool_minor=data["pool_minor"],
                currency=data["currency"].lower(),
                actor=user,
                force_reason=data["force_reason"],
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                f"{period.month} closed: {selectors.money(period.pool_minor, period.currency)} "
                f"allocated over {period.plays_counted} qualifying plays.",
            )
            return redirect("royalties:periods")
    return render(
        request,
        "royalties/periods.html",
        {
            "form": form,
            "periods": overview.periods_overview(),
            "open_months": held.open_months(now=timezone.now(), late_window=services.late_window()),
            "late_window_days": services.late_window().days,
        },
    )


def _staff(request: HttpRequest) -> Any:
    user: Any = request.user
    if not user.is_platform_staff:
        raise PermissionDenied("forbidden", "Only staff see and release held plays.")
    return user


@login_required
@pages_speak_http
def held_plays(request: HttpRequest) -> HttpResponse:
    """What the listening rules hold in a month, by rule and app; release per play or group."""
    user = _staff(request)
    now = timezone.now()
    month = request.GET.get("month") or previous_month(month_of(now))
    if request.method == "POST":
        form = ReleaseForm(request.POST)
        if not form.is_valid():
            errors = "; ".join(str(e) for field in form.errors.values() for e in field)
            messages.error(request, f"Nothing released: {errors}")
        else:
            data = form.cleaned_data
            month = data["month"]
            try:
                result = releases.play_release(
                    month=month,
                    actor=user,
                    reason=data["reason"],
                    play_ids=[data["play"]] if data["play"] else None,
                    rule="" if data["play"] else data["rule"],
                    app_id=data["app"],
                )
            except ApplicationError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(
                    request,
                    f"Released {result.released} play{'s' if result.released != 1 else ''}"
                    + (f" ({result.already} already released)" if result.already else "")
                    + ": they count when the month closes.",
                )
        return redirect(f"{reverse('royalties:held')}?month={month}")
    summary = held.held_overview(month=month, now=now)
    texts = {text.name: text.text for text in explain.rule_texts()}
    rule, app = request.GET.get("rule", ""), request.GET.get("app", "")
    plays = None
    if rule and app.isdigit():
        plays = held.held_plays(
            month=month, rule=rule, app_id=int(app), now=now, page=request.GET.get("page", 1)
        )
    return render(
        request,
        "royalties/held.html",
        {
            "overview": summary,
            "by_rule": [
                (rule, label, count, texts[rule]) for rule, label, count in summary.by_rule
            ],
            "open_months": held.open_months(now=now, late_window=services.late_window()),
            "selected_rule": rule,
            "selected_app": app,
            "plays": plays,
        },
    )


def how_plays_count(request: HttpRequest) -> HttpResponse:
    """Public: which plays earn, and every rule with its current threshold."""
    return render(
        request,
        "royalties/how_plays_count.html",
        {
            "rules": explain.rule_texts(),
            "qualifying": explain.qualifying_text(),
            "late_window_days": services.late_window().days,
            "clock_skew_s": int(services.clock_skew().total_seconds()),
            "stream": explain.stream_texts(),
        },
    )


@login_required
@pages_speak_http
def statement(request: HttpRequest, month: str) -> HttpResponse:
    """A closed month's statement, or an open month's estimate so far (the same page)."""
    artist = _subject(request)
    return render(
        request,
        "royalties/statement.html",
        {
            "statement": estimates.statement_or_estimate(month=month, artist=artist),
            "artist_query": f"?artist={artist.pk}" if artist.pk != request.user.pk else "",
            "qualifying": explain.qualifying_text(),
        },
    )


@login_required
@pages_speak_http
def statement_csv(request: HttpRequest, month: str) -> HttpResponse:
    artist = _subject(request)
    data = statements.statement_for(month=month, artist=artist)
    # Stem titles and artist names are the artists' own text: csv_response neutralises cells
    # a spreadsheet would evaluate.
    return csv_response(
        filename=f"stemvault-statement-{month}-{artist.pk}.csv",
        header=[
            "period",
            "artist_id",
            "artist",
            "stem_id",
            "stem",
            "plays",
            "attributed_seconds",
            "amount_minor",
            "currency",
            # Held plays of mixes with the stem, one column per listening rule.
            *(f"held_{rule}" for rule in RULES),
            "soundtrack_plays",
            "soundtrack_seconds",
            "stream_seconds",
            "share",
            "amount",
        ],
        rows=(
            [
                data.period,
                data.artist_id,
                data.artist_name,
                line.stem_id,
                line.stem_title,
                line.plays,
                line.attributed_seconds,
                line.amount_minor,
                data.currency,
                *(line.held.get(rule, 0) for rule in RULES),
                line.soundtrack_plays,
                line.soundtrack_seconds,
                line.stream_seconds,
                line.share,
                amount_text(line.amount_minor, data.currency),
            ]
            for line in [*data.lines, *data.held_only]
        ),
    )


@login_required
@pages_speak_http
def statement_stem(request: HttpRequest, month: str, stem_id: str) -> HttpResponse:
    artist = _subject(request)
    detail = drilldown.stem_line(
        month=month, artist=artist, stem_id=int(stem_id), page=request.GET.get("page", 1)
    )
    return render(
        request,
        "royalties/statement_stem.html",
        {
            "month": month,
            "detail": detail,
            "artist": artist,
            "artist_query": f"artist={artist.pk}&" if artist.pk != request.user.pk else "",
        },
    )
