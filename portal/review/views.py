"""Pages: the review queue and dossier, decisions, the vault, audit, notices, resubmission."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
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
    DecisionForm,
    QueueFilterForm,
    TakedownForm,
    VaultFilterForm,
)
from portal.review.notifications import notifications_mark_read
from portal.review.services.claims import claim_minutes, hhmm, review_claim, review_release
from portal.review.services.decisions import review_round, stem_decide
from portal.review.services.resubmission import stem_resubmit
from portal.review.services.takedowns import stem_takedown
from portal.review.spectrogram import spectrogram_png
from portal.stems.forms import ResubmitForm
from portal.stems.models import CreditConsent, Stem, StemStatus
from portal.stems.selectors import consent_summary, credits_given_to, waveform_svg_path
from renderer.audio import load_audio

View = Callable[..., HttpResponse]
REVIEWERS = (Role.CURATOR, Role.STAFF)


def roles_required(*roles: str) -> Callable[[View], View]:
    """Anonymous visitors go to the login page; a signed-in account of another role gets 403."""

    who = " and ".join(f"{Role(role).label.lower()}s" for role in roles)
    who = who.replace("staffs", "staff")

    def decorate(view: View) -> View:
        @wraps(view)
        @login_required
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if getattr(request.user, "role", None) not in roles:
                # The 403 page shows this reason (portal/site/views.py permission_denied).
                raise DjangoPermissionDenied(f"This page is for {who}.")
            return view(request, *args, **kwargs)

        return guarded

    return decorate


def _stem_or_404(stem_id: int) -> Stem:
    stem = selectors.stem_for_review(stem_id=stem_id)
    if stem is None:
        raise Http404("No such stem.")
    return stem


def _page(request: HttpRequest, items: Any, per_page: int = 50) -> Any:
    return Paginator(items, per_page).get_page(request.GET.get("page"))


def _base(request: HttpRequest) -> dict[str, Any]:
    return {"unread_notifications": selectors.unread_count(user=request.user)}


# --- Queue and claims ----------------------------------------------------------------------------
@require_GET
@roles_required(*REVIEWERS)
def queue(request: HttpRequest) -> HttpResponse:
    form = QueueFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    stems = selectors.review_queue(**filters)
    page = _page(request, stems)
    rows = [
        (
            stem,
            selectors.active_claim(stem),
            consent_summary(stem.credits.all()),
            selectors.stem_audio_url(stem.pk),
        )
        for stem in page
    ]
    return render(
        request,
        "review/queue.html",
        {
            **_base(request),
            "form": form,
            "page": page,
            "rows": rows,
            "claim_minutes": claim_minutes(),
        },
    )


@require_POST
@roles_required(*REVIEWERS)
def claim(request: HttpRequest, stem_id: int) -> HttpResponse:
    stem = _stem_or_404(stem_id)
    try:
        held = review_claim(stem=stem, curator=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("review:queue")
    messages.success(request, f"You hold “{stem.title}” until {hhmm(held.expires_at)}.")
    return redirect("review:stem", stem_id=stem.pk)


@require_POST
@roles_required(*REVIEWERS)
def release(request: HttpRequest, stem_id: int) -> HttpResponse:
    stem = _stem_or_404(stem_id)
    try:
        review_release(stem=stem, user=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Released “{stem.title}” for other curators.")
    return redirect("review:queue")


# --- The dossier ---------------------------------------------------------------------------------
@require_GET
@roles_required(*REVIEWERS)
def stem_review(request: HttpRequest, stem_id: int) -> HttpResponse:
    stem = _stem_or_404(stem_id)
    held = selectors.active_claim(stem)
    license_ = stem.submission.license
    peaks = (stem.analysis or {}).get("waveform_peaks") or []
    context = {
        **_base(request),
        "stem": stem,
        "claim": held,
        "mine": held is not None and held.curator_id == request.user.pk,
        "audio_url": selectors.stem_audio_url(stem.pk),
        "preview": selectors.preview_mix_for(stem),
        "waveform_path": waveform_svg_path(peaks),
        "waveform_points": len(peaks),
        "analysis_rows": selectors.analysis_rows(stem),
        "problems": (stem.analysis or {}).get("problems") or [],
        "report": selectors.provenance_report(stem),
        "credits": list(stem.credits.all()),
        "consent": consent_summary(stem.credits.all()),
        "license": license_,
        "attestations": stem.submission.attestations,
        "receipt": selectors.stem_receipt(stem, viewer=request.user),
        "decisions": list(selectors.decisions_for_stem(stem=stem)),
        "history": selectors.artist_history(stem),
        "form": DecisionForm(),
        "reasons": selectors.reason_templates(),
        "in_review": stem.status == StemStatus.IN_REVIEW,
        "round": review_round(stem),
        "next_stem": selectors.next_in_queue(after=stem, curator=request.user),
    }
    return render(request, "review/stem.html", context)


@require_POST
@roles_required(*REVIEWERS)
def decide(request: HttpRequest, stem_id: int) -> HttpResponse:
    stem = _stem_or_404(stem_id)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose approve, reject or request changes.")
        return redirect("review:stem", stem_id=stem.pk)
    try:
        decision = stem_decide(stem=stem, curator=request.user, **form.cleaned_data)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("review:stem", stem_id=stem.pk)
    messages.success(
        request, f"“{stem.title}”: {decision.get_decision_display().lower()} recorded."
    )
    return redirect("review:queue")


@require_GET
@roles_required(*REVIEWERS)
def spectrogram(request: HttpRequest, stem_id: int) -> HttpResponse:
    stem = _stem_or_404(stem_id)
    # A stem's audio never changes (new audio is a new stem), so its picture is cached by id
    # and PCM hash for a day.
    key = f"review:spectrogram:{stem.pk}:{stem.pcm_sha256}"
    png = cache.get(key)
    if png is None:
        with default_storage.open(stem.audio.name, "rb") as handle:
            audio = load_audio(handle.read())
        png = spectrogram_png(audio.samples, audio.sample_rate)
        cache.set(key, png, 24 * 3600)
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "private, max-age=86400"
    return response


# --- Artist: changes and history -----------------------------------------------------------------
@roles_required(Role.ARTIST)
def stem_changes(request: HttpRequest, stem_id: int) -> HttpResponse:
    stem = _stem_or_404(stem_id)
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
            **_base(request),
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
    page = _page(request, entries)
    # An artist reads their stems' history without the curators' internal fields.
    shown = audit_entries_shown(page.object_list, viewer=request.user)
    return render(
        request,
        "review/history.html",
        {
            **_base(request),
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
            **_base(request),
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


# --- The vault -----------------------------------------------------------------------------------
@require_GET
@roles_required(*REVIEWERS)
def vault(request: HttpRequest) -> HttpResponse:
    form = VaultFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    stems = selectors.vault_stems(**filters)
    return render(
        request,
        "review/vault.html",
        {
            **_base(request),
            "form": form,
            "page": _page(request, stems),
            "takedown_form": TakedownForm() if request.user.is_platform_staff else None,  # type: ignore[union-attr]
        },
    )


@require_POST
@roles_required(Role.STAFF)
def takedown(request: HttpRequest, stem_id: int) -> HttpResponse:
    stem = _stem_or_404(stem_id)
    form = TakedownForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the reason for the takedown.")
        return redirect("review:vault")
    try:
        stem_takedown(stem=stem, staff=request.user, reason=form.cleaned_data["reason"])
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"“{stem.title}” was taken down; the artist was notified.")
    return redirect("review:vault")


# --- Artists: credits to confirm ----------------------------------------------------------------
@require_GET
@roles_required(Role.ARTIST)
def credits(request: HttpRequest) -> HttpResponse:
    """The credits other artists gave me: answer the pending ones, reconsider declined ones."""
    return render(
        request,
        "review/credits.html",
        {
            **_base(request),
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
