"""The clearance lookup's doors: `POST /api/v1/clearance/`, the public page `/clearance/` with
the same answer, and the public certificate a match links to. See portal.mixes.clearance.

Public by design: a creator disputing a claim has no account here. So both doors are throttled
per client address (CLEARANCE_THROTTLE_RATE, signed in or not), refuse a body over
CLEARANCE_MAX_UPLOAD_BYTES from its Content-Length before a byte of it is parsed (413), and
decode within the clip limits of renderer.clearance (400 with what to fix).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from portal.core.errors import ApplicationError, NotFound
from portal.mixes.clearance import (
    Clearance,
    ClearanceMatch,
    clearance_certificate_mix,
    clearance_lookup,
    public_name,
)
from portal.mixes.deliverables import certificate_context
from portal.mixes.forms import ClearanceForm
from renderer.clearance_clip import CLIP_MAX_S, CLIP_MIN_S


def max_upload_bytes() -> int:
    return int(getattr(settings, "CLEARANCE_MAX_UPLOAD_BYTES", 40 * 1024 * 1024))


class ClearanceThrottle(SimpleRateThrottle):
    """Per client address (TRUSTED_PROXIES decides which), for everyone: an account changes
    nothing about what a lookup costs."""

    scope = "clearance"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def get_rate(self) -> str:
        return str(getattr(settings, "CLEARANCE_THROTTLE_RATE", "20/min"))


def _too_large() -> ApplicationError:
    limit = max_upload_bytes()
    return ApplicationError(
        "too_large",
        f"The upload is larger than the {limit / 1_000_000:.0f} MB limit; send the claimed "
        f"stretch only ({CLIP_MIN_S:g} to {CLIP_MAX_S:g} s), as MP3 if it is long.",
        fields={"file": ["Too large."]},
        status=413,
    )


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _read_upload(upload: Any) -> bytes:
    """The uploaded file's bytes, one past the limit at most."""
    if upload is None:
        raise ApplicationError(
            "missing_file",
            "Send the clip as the multipart field 'file' (MP3, WAV, FLAC, AIFF or Ogg).",
            fields={"file": ["This field is required."]},
        )
    limit = max_upload_bytes()
    if (upload.size or 0) > limit:
        raise _too_large()
    data = bytes(upload.read(limit + 1))
    if len(data) > limit:
        raise _too_large()
    return data


def _lookup(request: HttpRequest, files: Any) -> Clearance:
    return clearance_lookup(data=_read_upload(files.get("file")))


def certificate_url(request: HttpRequest, match: ClearanceMatch) -> str | None:
    mix_id = match.source.mix_id
    if mix_id is None or not match.source.licensed:
        return None
    return request.build_absolute_uri(reverse("mixes:clearance_certificate", args=[mix_id]))


def clearance_answer(request: HttpRequest, clearance: Clearance) -> dict[str, Any]:
    """The API's answer: the clip as read, then every render it comes from, best first."""
    matches = []
    for match in clearance.matches:
        source = match.source
        matches.append(
            {
                "render_id": source.render_id,
                "kind": source.kind,
                "title": source.title,
                "offset_s": match.offset_s,
                "clip_offset_s": match.clip_offset_s,
                "matched_s": match.matched_s,
                "confidence": match.confidence,
                "evidence": {
                    "aligned_landmarks": match.aligned_landmarks,
                    "shared_landmarks": match.shared_landmarks,
                    "chance_landmarks": match.chance_landmarks,
                    "conclusive": match.conclusive,
                },
                "licensed": source.licensed,
                "licensee": source.licensee or None,
                "client_app": source.client_app or None,
                "licensed_at": source.licensed_at.isoformat() if source.licensed_at else None,
                "certificate_url": certificate_url(request, match),
                "note": source.note,
            }
        )
    return {
        "matched": bool(matches),
        "message": _summary(clearance),
        "clip": {
            "format": clearance.clip_format,
            "duration_s": clearance.clip_duration_s,
            "sample_rate": clearance.clip_sample_rate,
        },
        "indexed_renders": clearance.indexed_renders,
        "matches": matches,
    }


def _summary(clearance: Clearance) -> str:
    if not clearance.matches:
        return (
            f"No match: this clip does not come from any of the {clearance.indexed_renders} "
            "renders Stemvault has delivered (or too little of the music is audible in it; "
            "a longer clip with less over it helps)."
        )
    best = clearance.matches[0]
    when = best.source.licensed_at
    if best.source.licensed and when is not None:
        return (
            f"This clip comes from render {best.source.render_id} at "
            f"{best.offset_s - best.clip_offset_s:.2f} s, licensed on {when:%Y-%m-%d}; its "
            "certificate is linked."
        )
    return f"This clip comes from render {best.source.render_id}, which is not licensed."


class ClearanceApi(APIView):
    # Public: no authentication at all, so no session and no CSRF token either; the throttle
    # keys on the address.
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes = [ClearanceThrottle]
    parser_classes = [MultiPartParser]

    @extend_schema(
        request=inline_serializer("ClearanceRequest", {"file": serializers.FileField()}),
        responses={
            200: OpenApiResponse(description="The renders the clip comes from ('matches')"),
            400: OpenApiResponse(description="The clip cannot be used; the message says why"),
            413: OpenApiResponse(description="The upload is over CLEARANCE_MAX_UPLOAD_BYTES"),
            429: OpenApiResponse(description="Too many lookups from this address"),
        },
        summary="Clearance lookup: which renders a clip comes from, who licensed them, when",
    )
    def post(self, request: Request) -> Response:
        if _declared_length(request) > max_upload_bytes() + 64 * 1024:  # multipart overhead
            raise _too_large()  # before the body is parsed or spooled to disk
        return Response(clearance_answer(request, _lookup(request, request.FILES)))


# Exempt from CSRF on purpose: the middleware would parse (and spool to disk) the whole body to
# look for its token before the size check below runs, and a lookup changes nothing that a
# forged request could abuse: it reads, and its throttle is per address, not per account.
@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def clearance_page(request: HttpRequest) -> HttpResponse:
    """The same lookup as a page with an upload form."""
    form = ClearanceForm()
    context: dict[str, Any] = {"form": form, "min_s": CLIP_MIN_S, "max_s": CLIP_MAX_S}
    status = 200
    if request.method == "POST":
        try:
            # DRF's throttle reads only the address and the cache, which a page request has too.
            if not ClearanceThrottle().allow_request(request, None):  # type: ignore[arg-type]
                raise ApplicationError(
                    "throttled", "Too many lookups from your address; wait a minute.", status=429
                )
            if _declared_length(request) > max_upload_bytes() + 64 * 1024:
                raise _too_large()
            clearance = _lookup(request, request.FILES)
        except ApplicationError as exc:
            context["error"] = exc.message
            status = exc.status
        else:
            context["clearance"] = clearance
            context["summary"] = _summary(clearance)
            context["rows"] = [(m, certificate_url(request, m)) for m in clearance.matches]
    return render(request, "mixes/clearance.html", context, status=status)


@require_safe
def clearance_certificate(request: HttpRequest, mix_id: str) -> HttpResponse:
    """A licensed soundtrack's certificate for anyone holding its render id (see
    portal.mixes.clearance for what it discloses)."""
    try:
        mix = clearance_certificate_mix(mix_id=mix_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    context = certificate_context(mix)
    context["licensee"] = public_name(mix.requested_by)  # never the e-mail fallback
    context["public"] = True
    return render(request, "mixes/clearance_certificate.html", context)
