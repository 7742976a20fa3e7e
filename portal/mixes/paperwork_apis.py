"""A finished render's paperwork over the Sync API: its signed manifest, licence certificate
(page and PDF), cue sheet, and the public key anyone can verify a Stemvault file with."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.clients.selectors import request_app
from portal.core.csv_export import csv_response
from portal.mixes.certificate_pdf import certificate_pdf_response
from portal.mixes.deliverables import CUE_SHEET_HEADER, certificate_context, cue_sheet_rows
from portal.mixes.download_apis import finished_soundtrack, require_done
from portal.mixes.keys import verification_key_pem
from portal.mixes.selectors import mix_get_for_user


class MixManifestApi(APIView):
    allowed_token_scopes = ("app",)

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        summary="A rendered mix's signed provenance manifest",
    )
    def get(self, request: Request, mix_id: str) -> Response:
        mix = mix_get_for_user(mix_id=mix_id, app=request_app(request), user=request.user)
        require_done(mix)
        return Response(mix.manifest)


class SoundtrackCertificateApi(APIView):
    allowed_token_scopes = ("app",)

    @extend_schema(
        responses={(200, "text/html"): OpenApiTypes.STR},
        summary="A soundtrack's licence certificate: a printable page",
    )
    def get(self, request: Request, mix_id: str) -> HttpResponse:
        mix = finished_soundtrack(request, mix_id)
        context = certificate_context(mix)
        context["pdf_url"] = reverse("api:mixes-soundtrack-certificate-pdf", args=[mix.pk])
        page = render_to_string("mixes/certificate.html", context, request)
        return HttpResponse(page, content_type="text/html; charset=utf-8")


class SoundtrackCertificatePdfApi(APIView):
    allowed_token_scopes = ("app",)

    @extend_schema(
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
        summary="A soundtrack's licence certificate as a PDF",
    )
    def get(self, request: Request, mix_id: str) -> HttpResponse:
        mix = finished_soundtrack(request, mix_id)
        return certificate_pdf_response(request, certificate_context(mix))


class SoundtrackCueSheetApi(APIView):
    allowed_token_scopes = ("app",)

    @extend_schema(
        responses={(200, "text/csv"): OpenApiTypes.STR},
        summary="A soundtrack's cue sheet (CSV): title, artists with roles and shares, "
        "duration, usage",
    )
    def get(self, request: Request, mix_id: str) -> HttpResponse:
        mix = finished_soundtrack(request, mix_id)
        return csv_response(
            filename=f"stemvault-cue-sheet-{mix.pk}.csv",
            header=CUE_SHEET_HEADER,
            rows=cue_sheet_rows(mix),
        )


class PublicKeyApi(APIView):
    """Anyone may verify a Stemvault file: the key is public, no account needed."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        responses={(200, "application/x-pem-file"): OpenApiTypes.STR},
        summary="The Ed25519 public key that signs every manifest (PEM)",
    )
    def get(self, request: Request) -> HttpResponse:
        response = HttpResponse(verification_key_pem(), content_type="application/x-pem-file")
        response["Content-Disposition"] = 'inline; filename="stemvault-manifest-key.pub.pem"'
        return response
