"""Curators' pages: the review queue and dossier, claims, decisions, the vault and takedowns."""

from __future__ import annotations

from django.contrib import messages
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from portal.accounts.models import Role
from portal.core.errors import ApplicationError
from portal.review import selectors
from portal.review.forms import (
    DecisionForm,
    QueueFilterForm,
    TakedownForm,
    VaultFilterForm,
)
from portal.review.page_access import REVIEWERS, page_base, page_of, roles_required, stem_or_404
from portal.review.services.claims import claim_minutes, hhmm, review_claim, review_release
from portal.review.services.decisions import review_round, stem_decide
from portal.review.services.takedowns import stem_takedown
from portal.review.spectrogram import spectrogram_png
from portal.stems.models import StemStatus
from portal.stems.selectors import consent_summary, waveform_svg_path
from renderer.audio import load_audio


# --- Queue and claims ----------------------------------------------------------------------------
@require_GET
@roles_required(*REVIEWERS)
def queue(request: HttpRequest) -> HttpResponse:
    form = QueueFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    stems = selectors.review_queue(**filters)
    page = page_of(request, stems)
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
            **page_base(request),
            "form": form,
            "page": page,
            "rows": rows,
            "claim_minutes": claim_minutes(),
        },
    )


@require_POST
@roles_required(*REVIEWERS)
def claim(request: HttpRequest, stem_id: int) -> HttpResponse:
    stem = stem_or_404(stem_id)
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
    stem = stem_or_404(stem_id)
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
    stem = stem_or_404(stem_id)
    held = selectors.active_claim(stem)
    license_ = stem.submission.license
    peaks = (stem.analysis or {}).get("waveform_peaks") or []
    context = {
        **page_base(request),
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
    stem = stem_or_404(stem_id)
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
    stem = stem_or_404(stem_id)
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
            **page_base(request),
            "form": form,
            "page": page_of(request, stems),
            "takedown_form": TakedownForm() if request.user.is_platform_staff else None,  # type: ignore[union-attr]
        },
    )


@require_POST
@roles_required(Role.STAFF)
def takedown(request: HttpRequest, stem_id: int) -> HttpResponse:
    stem = stem_or_404(stem_id)
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
