"""Stored files handed to a player or a browser: byte-range responses and short-lived signed links.

A client app's `<audio src=...>` sends no Authorization header, so an audio URL it can hand
straight to a player must carry its own capability and expire soon. On S3 that is the bucket's
own presigned URL (the bytes never pass through a web process); on local storage it is a link to
`signed_file_view` here, whose token is an HMAC (django.core.signing) over the stored name, the
content type, the download name and the expiry. Nothing is stored per link: a web process can
verify a link another one issued, and revoking every link at once is rotating SECRET_KEY.

The caller checks permissions before issuing a link; the link then proves only that it did.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

from django.core import signing
from django.core.files.storage import default_storage
from django.http import Http404, HttpRequest, HttpResponseBase, StreamingHttpResponse
from django.urls import reverse

_SALT = "stemvault.core.stored_files"
SIGNED_LINK_SECONDS = 600
MAX_SIGNED_LINK_SECONDS = 24 * 3600
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_CHUNK = 256 * 1024


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """(start, end inclusive) of a single "bytes=a-b" range, or None if absent or unusable."""
    match = _RANGE.match(header.strip())
    if match is None or size == 0:
        return None
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":  # a suffix: the last N bytes
        start, end = max(0, size - int(last)), size - 1
    else:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    if start > end or start >= size:
        return None
    return start, end


def _chunks(handle: Any, start: int, length: int) -> Iterator[bytes]:
    try:
        handle.seek(start)
        remaining = length
        while remaining > 0:
            chunk = handle.read(min(_CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
    finally:
        handle.close()


def ranged_response(
    request: HttpRequest,
    name: str,
    *,
    content_type: str,
    filename: str,
    cache_control: str = "private, max-age=3600",
    disposition: str = "inline",
) -> StreamingHttpResponse:
    """The stored file `name`, whole or the single byte range the request asks for.

    Browsers' <audio> seeks with Range requests; everything else gets the whole file.
    """
    size = default_storage.size(name)
    wanted = byte_range(request.headers.get("Range", ""), size)
    start, end = wanted if wanted is not None else (0, size - 1)
    handle = default_storage.open(name, "rb")
    response = StreamingHttpResponse(
        _chunks(handle, start, end - start + 1),
        status=206 if wanted is not None else 200,
        content_type=content_type,
    )
    response["Content-Length"] = str(end - start + 1)
    response["Accept-Ranges"] = "bytes"
    if wanted is not None:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response["Cache-Control"] = cache_control
    return response


def signed_link(
    request: HttpRequest | None,
    name: str,
    *,
    content_type: str,
    filename: str,
    expires_s: int = SIGNED_LINK_SECONDS,
) -> tuple[str, int]:
    """(URL, expiry as a Unix time) of a link to the stored file `name` that needs no header.

    Absolute when a request is given (a client app hands it to a player on another origin).
    """
    expires_s = max(1, min(int(expires_s), MAX_SIGNED_LINK_SECONDS))
    expires_at = int(time.time()) + expires_s
    storage: Any = default_storage  # S3Storage.url takes parameters/expire; the stubs do not know
    if hasattr(storage, "bucket"):
        url = storage.url(
            name,
            parameters={
                "ResponseContentDisposition": f'inline; filename="{filename}"',
                "ResponseContentType": content_type,
            },
            expire=expires_s,
        )
        return str(url), expires_at
    token = signing.dumps(
        {"n": name, "t": content_type, "f": filename, "e": expires_at}, salt=_SALT, compress=True
    )
    path = reverse("signed-file", args=[token])
    return (request.build_absolute_uri(path) if request is not None else path), expires_at


def signed_file_view(request: HttpRequest, token: str) -> HttpResponseBase:
    """Serve a file named by a link from `signed_link` while it is valid; 404 otherwise.

    404 rather than 403 for a bad or expired token: the response says nothing about whether a
    file exists, and a player treats both the same way (the client asks for a fresh link).
    """
    try:
        claims = signing.loads(token, salt=_SALT)
    except signing.BadSignature as error:
        raise Http404("This link is not valid; ask the API for a fresh one.") from error
    if int(claims["e"]) < time.time():
        raise Http404("This link has expired; ask the API for a fresh one.")
    name = str(claims["n"])
    if not default_storage.exists(name):
        raise Http404("The file behind this link is gone.")
    response = ranged_response(
        request,
        name,
        content_type=str(claims["t"]),
        filename=str(claims["f"]),
        cache_control="private, max-age=60",
    )
    # The link is the credential: keep it out of Referer headers the player's page might send on.
    response["Referrer-Policy"] = "no-referrer"
    return response
