"""Artists' and everyone's pages: changes asked for, history, notices, credits to confirm."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from portal.accounts.models import Role
from portal.audit.selectors import audit_entries_by, audit_entries_for, audit_entries_shown
from portal.core.errors import ApplicationError
from portal.review import credits as credit_services
from portal.review import selectors
from portal.review.audit_log import readable
from portal.review.forms import (
    CreditAnswerForm,
)
from portal.review.notifications import notifications_mark_read
from portal.review.page_access import page_base, page_of, roles_required, stem_or_404
from portal.review.services.resubmission import stem_resubmit
from portal.stems.forms import ResubmitForm
from portal.stems.models import CreditConsent, StemStatus
from portal.stems.selectors import consent_summary, credits_given_to


# --- Artist: changes and history -----------------------------------------------------------------
@roles_required(Role.ARTIST)
def stem_changes(request: HttpRequest, stem_id: int) -> HttpResponse:
    stem = stem_or_404(stem_id)
    if stem.artist_id != request.user.pk:
        raise Http404("No such stem.")
    editable = stem.status == StemStatus.CHANGES_REQUESTED
    form = ResubmitForm.for_stem(stem, request.POST if request.method == "POST" else None)
    if request.method == "POST" and editable and form.is_valid():
        try:
            stem_resubmit(stem=stem, artist=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"“{form.cleaned_data['title']}” is back in review.")
            return redirect("review:history")
    return render(
        request,
        "review/changes.html",
        {
            **page_base(request),
            "stem": stem,
            "form": form,
            "editable": editable,
            "decisions": list(selectors.decisions_for_stem(stem=stem)),
            "consent": consent_summary(stem.credits.select_related("artist")),
        },
    )


@require_GET
@roles_required(Role.ARTIST, Role.CURATOR, Role.STAFF)
def history(request: HttpRequest) -> HttpResponse:
    decisions = selectors.decisions_for(user=request.user)[:200]
    # A curator's history is what they did; an artist's what happened to their stems.
    is_curator = request.user.role == Role.CURATOR  # type: ignore[union-attr]
    entries = (
        audit_entries_by(actor=request.user) if is_curator else audit_entries_for(user=request.user)
    )
    page = page_of(request, entries)
    # An artist reads their stems' history without the curators' internal fields.
    shown = audit_entries_shown(page.object_list, viewer=request.user)
    return render(
        request,
        "review/history.html",
        {
            **page_base(request),
            "decisions": decisions,
            "page": page,
            "rows": readable(shown, viewer=request.user),
        },
    )


# --- Everyone: notices ---------------------------------------------------------------------------
@require_GET
@login_required
def notifications(request: HttpRequest) -> HttpResponse:
    # Reading changes nothing (a GET may come from a prefetcher or a link preview); the page
    # marks the notices it shows read with a POST of their ids (static/js/autosubmit.js sends
    # it in the background at once, or the button does).
    notices = list(selectors.notifications_for(user=request.user)[:100])
    return render(
        request,
        "review/notifications.html",
        {
            **page_base(request),
            "notifications": notices,
            "unread_ids": [n.pk for n in notices if not n.read_at],
        },
    )


@require_POST
@login_required
def notifications_read(request: HttpRequest) -> HttpResponse:
    # Only the notices that page showed: one that arrived since stays unread.
    ids = [int(value) for value in request.POST.getlist("ids") if value.isdigit()]
    ids = [value for value in ids if value < 2**63]
    marked = notifications_mark_read(user=request.user, ids=ids)
    if request.headers.get("x-requested-with") == "fetch":
        return HttpResponse(status=204)
    if marked:
        messages.success(request, f"{marked} notice{'s' if marked != 1 else ''} marked read.")
    return redirect("review:notifications")


# --- Artists: credits to confirm ----------------------------------------------------------------
@require_GET
@roles_required(Role.ARTIST)
def credits(request: HttpRequest) -> HttpResponse:
    """The credits other artists gave me: answer the pending ones, reconsider declined ones."""
    return render(
        request,
        "review/credits.html",
        {
            **page_base(request),
            "pending": list(credits_given_to(user=request.user, consent=CreditConsent.PENDING)),
            "declined": list(credits_given_to(user=request.user, consent=CreditConsent.DECLINED)),
            "accepted": list(
                credits_given_to(user=request.user, consent=CreditConsent.ACCEPTED)[:20]
            ),
            "form": CreditAnswerForm(),
        },
    )


def _answer(request: HttpRequest, credit_id: int, *, accept: bool) -> HttpResponse:
    form = CreditAnswerForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The answer could not be read; reload the page and try again.")
        return redirect("review:credits")
    answer = credit_services.credit_accept if accept else credit_services.credit_decline
    try:
        credit = answer(
            credit_id=credit_id,
            artist=request.user,
            message=form.cleaned_data["message"],
            split_bps=form.cleaned_data["split_bps"],
        )
    except ApplicationError as exc:
        if exc.status == 404:
            raise Http404(exc.message) from None
        if exc.status == 403:
            raise DjangoPermissionDenied(exc.message) from None
        messages.error(request, exc.message)
        return redirect("review:credits")
    title = credit.stem.title
    if accept:
        messages.success(request, f"You accepted your share of “{title}”.")
    else:
        messages.success(request, f"You declined your share of “{title}”; the uploader is told.")
    return redirect("review:credits")


@require_POST
@roles_required(Role.ARTIST)
def credit_accept(request: HttpRequest, credit_id: int) -> HttpResponse:
    return _answer(request, credit_id, accept=True)


@require_POST
@roles_required(Role.ARTIST)
def credit_decline(request: HttpRequest, credit_id: int) -> HttpResponse:
    return _answer(request, credit_id, accept=False)
