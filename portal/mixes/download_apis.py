"""Downloads of a rendered mix's files, with the Sync API's permissions: the master (WAV or
FLAC, with its signed manifest), and a soundtrack's extras when its request asked for them
(the MP3, the stems zip). Every file is read from Django's storage and streamed, with single
byte ranges for players that seek. Also the list of a soundtrack's files that REST and GraphQL
both answer with."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, StreamingHttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.views import APIView

from portal.clients.selectors import request_app
from portal.core.errors import ApplicationError, Conflict, NotFound
from portal.core.stored_files import ranged_response, signed_link
from portal.mixes.file_names import EXTRA_FILES, extra_name, requested_extras
from portal.mixes.models import Mix, RenderKind, RenderStatus
from portal.mixes.selectors import mix_get_for_user
from portal.mixes.soundtrack_request import MASTER_FORMATS, OFFERED_FORMATS

AUDIO_CONTENT_TYPES = {"wav": "audio/wav", "flac": "audio/flac"}
# What GET soundtracks/<id>/files/<kind>/ serves: the master's format, "mp3", "stems".
FILE_KINDS = (*OFFERED_FORMATS, "stems")


def require_done(mix: Mix) -> None:
    if mix.status != RenderStatus.DONE or not mix.audio:
        raise Conflict("not_ready", f"This mix is {mix.status}; its audio is not ready yet.")


def finished_soundtrack(request: Request, mix_id: str) -> Mix:
    """The caller's finished soundtrack (404 if not theirs, 409 while it renders): what every
    paperwork and file download of a soundtrack starts from."""
    mix = mix_get_for_user(
        mix_id=mix_id, app=request_app(request), user=request.user, kind=RenderKind.SOUNDTRACK
    )
    require_done(mix)
    return mix


def soundtrack_audio_url(request: HttpRequest | Request, mix: Mix) -> str | None:
    """The download URL of a finished render (None before): REST and GraphQL answer the same."""
    if mix.status != RenderStatus.DONE or not mix.audio:
        return None
    return request.build_absolute_uri(reverse("api:mixes-audio", args=[mix.pk]))


def soundtrack_audio_link(request: HttpRequest | Request, mix: Mix) -> tuple[str, int] | None:
    """(URL, expiry as a Unix time) of a short-lived link to a finished render's audio that
    needs no Authorization header: what a client hands straight to `<audio src>`. None before
    it is done. The caller has checked that this request may see the mix."""
    if mix.status != RenderStatus.DONE or not mix.audio:
        return None
    return signed_link(
        request,
        mix.audio.name,
        content_type=AUDIO_CONTENT_TYPES.get(mix.audio_format, "application/octet-stream"),
        filename=f"stemvault-{mix.kind}-{mix.pk}.{mix.audio_format}",
    )


def soundtrack_files(request: HttpRequest | Request, mix: Mix) -> list[dict[str, str]]:
    """{kind, url, content_type} of every file of a finished soundtrack, none before: the
    master ("audio"), the extras its request asked for ("mp3", "stems"), the manifest, the
    licence certificate and the cue sheet."""
    if mix.status != RenderStatus.DONE or not mix.audio:
        return []

    def url(name: str, *args: Any) -> str:
        return request.build_absolute_uri(reverse(name, args=[mix.pk, *args]))

    master_type = AUDIO_CONTENT_TYPES.get(mix.audio_format, "application/octet-stream")
    soundtrack = mix.kind == RenderKind.SOUNDTRACK
    links = [("audio", url("api:mixes-audio"), master_type)]
    if soundtrack:
        links += [
            (kind, url("api:mixes-soundtrack-file", kind), EXTRA_FILES[kind][0])
            for kind in requested_extras(mix.request)
        ]
    links.append(("manifest", url("api:mixes-manifest"), "application/json"))
    if soundtrack:
        links.append(("certificate", url("api:mixes-soundtrack-certificate"), "text/html"))
        links.append(("cue_sheet", url("api:mixes-soundtrack-cue-sheet"), "text/csv"))
    files = [{"kind": k, "url": u, "content_type": t} for k, u, t in links]
    return files


class MixAudioApi(APIView):
    allowed_token_scopes = ("app",)

    @extend_schema(
        responses={
            (200, "audio/wav"): OpenApiTypes.BINARY,
            (200, "audio/flac"): OpenApiTypes.BINARY,
            (206, "audio/wav"): OpenApiTypes.BINARY,
            (206, "audio/flac"): OpenApiTypes.BINARY,
        },
        summary="Download a rendered mix: the file carries its signed manifest",
    )
    def get(self, request: Request, mix_id: str) -> StreamingHttpResponse:
        mix = mix_get_for_user(mix_id=mix_id, app=request_app(request), user=request.user)
        require_done(mix)
        response = ranged_response(
            request,
            mix.audio.name,
            content_type=AUDIO_CONTENT_TYPES.get(mix.audio_format, "application/octet-stream"),
            filename=f"stemvault-{mix.kind}-{mix.pk}.{mix.audio_format}",
            disposition="inline",
        )
        response["X-Audio-SHA256"] = mix.audio_sha256
        return response


class SoundtrackFileApi(APIView):
    allowed_token_scopes = ("app",)

    @extend_schema(
        responses={
            (200, "audio/mpeg"): OpenApiTypes.BINARY,
            (200, "application/zip"): OpenApiTypes.BINARY,
            (200, "audio/wav"): OpenApiTypes.BINARY,
            (200, "audio/flac"): OpenApiTypes.BINARY,
            400: OpenApiResponse(description="unknown_file: a kind not offered (listed)"),
            404: OpenApiResponse(description="file_not_requested: not asked for in the request"),
        },
        summary="Download one file of a soundtrack: wav or flac (its master), mp3, or stems "
        "(a zip of role-group stems with a signed manifest), each with Content Credentials",
    )
    def get(self, request: Request, mix_id: str, kind: str) -> StreamingHttpResponse:
        if kind not in FILE_KINDS:
            raise ApplicationError(
                "unknown_file",
                f"“{kind}” is not offered; a soundtrack's files are {', '.join(FILE_KINDS)}.",
                status=400,
            )
        mix = finished_soundtrack(request, mix_id)
        if kind in MASTER_FORMATS and kind == mix.audio_format:
            name, content_type = mix.audio.name, AUDIO_CONTENT_TYPES[kind]
        elif kind in requested_extras(mix.request):
            name, content_type = extra_name(mix, kind), EXTRA_FILES[kind][0]
        else:
            raise NotFound(
                "file_not_requested",
                f"This soundtrack was not requested with {kind}: ask for it in a new request "
                '("formats": ["wav", "mp3"] for an MP3, "stems": true for stems).',
            )
        suffix = "-stems.zip" if kind == "stems" else f".{kind}"
        return ranged_response(
            request,
            name,
            content_type=content_type,
            filename=f"stemvault-soundtrack-{mix.pk}{suffix}",
            disposition="attachment" if kind == "stems" else "inline",
        )
