from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from portal.core.csp import media_source_policy
from portal.core.errors import ApplicationError, NotFound
from portal.jobs.progress import job_progress
from portal.stems import selectors
from portal.stems.apis import receipt_response
from portal.stems.downloads import audio_response
from portal.stems.forms import ContributeForm, ResubmitForm, contribution_errors
from portal.stems.models import Stem, StemStatus
from portal.stems.provenance_jobs import provenance_rerun
from portal.stems.services import lifecycle, submission, upload_checks


def _is_xhr(request: HttpRequest) -> bool:
    return request.headers.get("x-requested-with") == "XMLHttpRequest"


def _stem_or_404(request: HttpRequest, pk: int) -> Stem:
    try:
        return selectors.stem_get_for_user(stem_id=pk, user=request.user)
    except NotFound:
        raise Http404("No such stem among yours.") from None


@login_required
@require_http_methods(["GET", "POST"])
def contribute(request: HttpRequest) -> HttpResponse:
    if not request.user.is_artist:  # type: ignore[union-attr]
        return render(request, "stems/not_an_artist.html", status=403)
    form = ContributeForm(request.POST or None, request.FILES or None)
    error: ApplicationError | None = None
    if request.method == "POST" and form.is_valid():
        files = form.cleaned_data["audio_files"]
        try:
            stems = submission.stem_submit(
                artist=request.user,  # type: ignore[arg-type]
                files=files,
                metadata=form.metadata(),
                credits=form.cleaned_data["credits"],
                license_version=form.cleaned_data["license_version"],
                attestations=form.attestations(),
                ip_address=request.META.get("REMOTE_ADDR"),
            )
        except ApplicationError as exc:
            error = exc
            form.add_service_error(exc)
        else:
            count = len(stems)
            messages.success(
                request,
                f"Received {count} stem{'s' if count != 1 else ''}. Provenance checks are "
                "running; you can follow them here.",
            )
            target = (
                reverse("stems:detail", args=[stems[0].pk]) if count == 1 else reverse("stems:list")
            )
            if _is_xhr(request):
                return JsonResponse({"redirect": target}, status=201)
            return redirect(target)
    if request.method == "POST" and _is_xhr(request):
        # The page's script keeps the chosen files and shows each error beside its field.
        return JsonResponse(contribution_errors(form, error), status=error.status if error else 400)
    status = 400 if request.method == "POST" else 200
    licenses = {lic.version: lic for lic in form.licenses}
    response = render(
        request,
        "stems/contribute.html",
        {"form": form, "error": error, "licenses": licenses.values()},
        status=status,
    )
    # The chosen files play in the page before they are sent: <audio src="blob:...">.
    response["Content-Security-Policy"] = media_source_policy()
    return response


@login_required
@require_http_methods(["POST"])
def contribute_measure(request: HttpRequest) -> HttpResponse:
    """One chosen file measured for the contribute page (length, tempo, bars, kind, waveform);
    nothing is stored."""
    if not request.user.is_artist:  # type: ignore[union-attr]
        return JsonResponse({"message": "Only artist accounts can contribute stems."}, status=403)
    upload = request.FILES.get("file")
    if upload is None:
        return JsonResponse({"message": "Send one audio file as the field 'file'."}, status=400)
    try:
        return JsonResponse(upload_checks.measure_upload(upload))
    except ApplicationError as exc:
        return JsonResponse({"code": exc.code, "message": exc.message}, status=exc.status)


@login_required
def stem_list(request: HttpRequest) -> HttpResponse:
    stems = selectors.stem_list_for_artist(user=request.user)
    page = Paginator(stems, 25).get_page(request.GET.get("page"))
    return render(request, "stems/stem_list.html", {"page": page, "stems": page.object_list})


@login_required
def stem_detail(request: HttpRequest, pk: int) -> HttpResponse:
    stem = _stem_or_404(request, pk)
    is_owner = stem.artist_id == request.user.pk
    analysis = stem.analysis or {}
    checks = selectors.checks_shown(stem=stem, viewer=request.user)
    job = stem.provenance_job
    credits = list(stem.credits.select_related("artist").order_by("-split_bps", "pk"))
    my_credit = next((c for c in credits if c.artist_id == request.user.pk), None)
    return render(
        request,
        "stems/stem_detail.html",
        {
            "stem": stem,
            "is_owner": is_owner,
            "my_credit": my_credit,
            "analysis_rows": selectors.analysis_rows(analysis) if analysis else [],
            "problems": analysis.get("problems", []),
            "waveform": selectors.waveform_svg_path(analysis.get("waveform_peaks") or []),
            "waveform_points": len(analysis.get("waveform_peaks") or []),
            "checks": checks,
            "credits": credits,
            "consent": selectors.consent_summary(credits),
            "job": job,
            "job_progress": job_progress(job) if job is not None else None,
            "processing": stem.status == StemStatus.PROCESSING,
            "can_rerun": bool(getattr(request.user, "is_platform_staff", False)),
            "can_edit": stem.status in lifecycle.EDITABLE_STATUSES
            and stem.status != StemStatus.CHANGES_REQUESTED,
            "can_withdraw": is_owner
            and stem.status
            not in (StemStatus.REJECTED, StemStatus.WITHDRAWN, StemStatus.TAKEN_DOWN),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def stem_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    stem = _stem_or_404(request, pk)
    if request.method == "POST":
        try:
            lifecycle.stem_withdraw(stem=stem, actor=request.user)  # type: ignore[arg-type]
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect("stems:detail", pk=stem.pk)
        messages.success(request, f"“{stem.title}” is withdrawn; it leaves all future renders.")
        return redirect("stems:detail", pk=stem.pk)
    if stem.artist_id != request.user.pk:
        messages.error(request, "Only the artist who contributed a stem can withdraw it.")
        return redirect("stems:detail", pk=stem.pk)
    return render(request, "stems/stem_withdraw.html", {"stem": stem})


@login_required
@require_http_methods(["GET", "POST"])
def stem_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """The artist corrects a stem's details while it is checked or reviewed."""
    stem = _stem_or_404(request, pk)
    if stem.artist_id != request.user.pk:
        raise Http404("No such stem among yours.")
    if stem.status == StemStatus.CHANGES_REQUESTED:
        return redirect("review:stem-changes", stem_id=stem.pk)  # edits go back to review there
    editable = stem.status in lifecycle.EDITABLE_STATUSES
    form = ResubmitForm.for_stem(stem, request.POST if request.method == "POST" else None)
    if request.method == "POST" and editable and form.is_valid():
        try:
            lifecycle.stem_update_metadata(
                stem=stem,
                actor=request.user,
                **form.cleaned_data,
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"The details of “{form.cleaned_data['title']}” are saved.")
            return redirect("stems:detail", pk=stem.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "stems/stem_edit.html",
        {"stem": stem, "form": form, "editable": editable},
        status=status,
    )


@login_required
@require_http_methods(["POST"])
def stem_rerun_provenance(request: HttpRequest, pk: int) -> HttpResponse:
    stem = _stem_or_404(request, pk)
    try:
        provenance_rerun(stem=stem, actor=request.user)  # type: ignore[arg-type]
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("stems:detail", pk=stem.pk)
    messages.success(request, f"The checks of “{stem.title}” are queued again.")
    return redirect("stems:detail", pk=stem.pk)


@login_required
def stem_audio(request: HttpRequest, pk: int) -> HttpResponseBase:
    return audio_response(_stem_or_404(request, pk))


@login_required
def stem_receipt(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        return receipt_response(_stem_or_404(request, pk), viewer=request.user)
    except NotFound:
        raise Http404("This stem has no contribution receipt.") from None
