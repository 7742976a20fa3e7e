from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_safe

from portal.core.csv_export import csv_response
from portal.core.errors import ApplicationError, NotFound
from portal.mixes import services
from portal.mixes.certificate_pdf import certificate_pdf_response
from portal.mixes.deliverables import CUE_SHEET_HEADER, certificate_context, cue_sheet_rows
from portal.mixes.forms import SoundtrackForm, pins_from_query
from portal.mixes.keys import verification_key_pem
from portal.mixes.models import Mix, RenderKind, RenderStatus
from portal.mixes.selectors import mix_get_for_user, soundtracks_for_user
from portal.mixes.version_views import detail_context


@login_required
def soundtrack_list(request: HttpRequest) -> HttpResponse:
    # "Use in a soundtrack" links from the catalogue arrive with ?pin=<stem id> (repeated).
    initial = {"pinned_stem_ids": pins_from_query(request.GET.getlist("pin"))}
    form = SoundtrackForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            mix = services.soundtrack_request(user=request.user, data=form.request_data())
        except ApplicationError as exc:
            for field, errors in (exc.fields or {}).items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
            if not exc.fields:
                form.add_error(None, exc.message)
            if exc.status == 429:  # over the render quota: the page says so, as the API does
                status = 429
        else:
            return redirect("mixes:soundtrack_detail", mix_id=mix.pk)
    soundtracks = soundtracks_for_user(user=request.user).select_related("family")[:50]
    return render(
        request,
        "mixes/soundtrack_list.html",
        {"form": form, "soundtracks": soundtracks},
        status=status,
    )


@login_required
def soundtrack_detail(request: HttpRequest, mix_id: str) -> HttpResponse:
    try:
        mix = mix_get_for_user(mix_id=mix_id, user=request.user)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    return render(request, "mixes/soundtrack_detail.html", detail_context(request, mix))


def _finished_soundtrack(request: HttpRequest, mix_id: str) -> Mix:
    try:
        mix = mix_get_for_user(mix_id=mix_id, user=request.user, kind=RenderKind.SOUNDTRACK)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if mix.status != RenderStatus.DONE:
        raise Http404("The soundtrack is not rendered yet: its licence comes with its file.")
    return mix


@login_required
@require_safe
def soundtrack_certificate(request: HttpRequest, mix_id: str) -> HttpResponse:
    mix = _finished_soundtrack(request, mix_id)
    context = certificate_context(mix)
    context["pdf_url"] = reverse("mixes:soundtrack_certificate_pdf", args=[mix.pk])
    return render(request, "mixes/certificate.html", context)


@login_required
@require_safe
def soundtrack_certificate_pdf(request: HttpRequest, mix_id: str) -> HttpResponse:
    mix = _finished_soundtrack(request, mix_id)
    return certificate_pdf_response(request, certificate_context(mix))


@login_required
@require_safe
def soundtrack_cue_sheet(request: HttpRequest, mix_id: str) -> HttpResponse:
    mix = _finished_soundtrack(request, mix_id)
    return csv_response(
        filename=f"stemvault-cue-sheet-{mix.pk}.csv",
        header=CUE_SHEET_HEADER,
        rows=cue_sheet_rows(mix),
    )


@require_safe
def manifest_key(request: HttpRequest) -> HttpResponse:
    """The manifest signing key at a well-known address (RFC 8615), so `renderer verify
    --portal-url` and any other verifier can fetch it from the portal's origin alone."""
    response = HttpResponse(verification_key_pem(), content_type="application/x-pem-file")
    response["Content-Disposition"] = 'inline; filename="stemvault-manifest-key.pem"'
    response["Access-Control-Allow-Origin"] = "*"  # public; a browser-side verifier may fetch it
    return response
