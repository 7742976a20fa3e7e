"""Signed links to stored audio: usable with no header, for a limited time, only as issued."""

from __future__ import annotations

import time
import urllib.parse
import urllib.request
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from portal.core.stored_files import byte_range, signed_link

BODY = bytes(range(256)) * 40


@pytest.fixture
def stored_name(db: None) -> Any:
    name = default_storage.save("tests/signed-links/take.wav", ContentFile(BODY))
    yield name
    default_storage.delete(name)


def _on_s3() -> bool:
    return hasattr(default_storage, "bucket")


def _fetch(client: Any, url: str, **headers: str) -> tuple[int, bytes, Any]:
    """GET a link as a player would: no cookie, no Authorization header."""
    if _on_s3():
        request = urllib.request.Request(url, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            return error.code, b"", error.headers
    django_headers = {
        f"HTTP_{key.upper().replace('-', '_')}": value for key, value in headers.items()
    }
    response = client.get(url, **django_headers)
    body = b"".join(response.streaming_content) if response.status_code < 300 else b""
    return response.status_code, body, response


def test_a_link_serves_the_file_with_no_credentials(client: Any, stored_name: str) -> None:
    url, expires_at = signed_link(None, stored_name, content_type="audio/wav", filename="take.wav")
    assert expires_at > time.time()
    status, body, _ = _fetch(client, url)
    assert status == 200
    assert body == BODY


def test_a_link_honours_a_byte_range_for_seeking(client: Any, stored_name: str) -> None:
    url, _ = signed_link(None, stored_name, content_type="audio/wav", filename="take.wav")
    status, body, _ = _fetch(client, url, Range="bytes=100-199")
    assert status == 206
    assert body == BODY[100:200]


def test_an_expired_link_is_refused(client: Any, stored_name: str, monkeypatch: Any) -> None:
    url, expires_at = signed_link(
        None, stored_name, content_type="audio/wav", filename="t.wav", expires_s=1
    )
    if _on_s3():
        # S3 itself refuses a presigned URL past its X-Amz-Expires (moto does not enforce it),
        # so what can be checked here is that the link was signed for exactly that lifetime
        # (SigV4 states the lifetime, SigV2 the moment).
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
        if "X-Amz-Expires" in query:
            assert query["X-Amz-Expires"] == ["1"]
        else:
            assert abs(int(query["Expires"][0]) - expires_at) <= 1
        return
    later = time.time() + 5
    monkeypatch.setattr("portal.core.stored_files.time.time", lambda: later)
    status, _, _ = _fetch(client, url)
    assert status == 404


@pytest.mark.skipif(_on_s3(), reason="the token format is local storage's; S3 presigns its own")
def test_a_tampered_or_foreign_token_is_refused(client: Any, stored_name: str) -> None:
    url, _ = signed_link(None, stored_name, content_type="audio/wav", filename="take.wav")
    token = url.rstrip("/").rsplit("/", 1)[-1]
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    assert client.get(url.replace(token, flipped)).status_code == 404
    # A token signed for another purpose (another salt) names no file here.
    from django.core import signing

    other = signing.dumps({"n": stored_name, "t": "audio/wav", "f": "x", "e": 2**40}, salt="x")
    assert client.get(url.replace(token, other)).status_code == 404


def test_a_link_says_it_no_longer_exists_when_the_file_is_gone(client: Any, db: None) -> None:
    name = default_storage.save("tests/signed-links/gone.wav", ContentFile(b"RIFF"))
    url, _ = signed_link(None, name, content_type="audio/wav", filename="gone.wav")
    default_storage.delete(name)
    status, _, _ = _fetch(client, url)
    assert status in {403, 404}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-9", (0, 9)),
        ("bytes=10-", (10, 99)),
        ("bytes=-10", (90, 99)),
        ("bytes=95-200", (95, 99)),
        ("bytes=100-", None),
        ("bytes=-", None),
        ("items=0-9", None),
        ("", None),
    ],
)
def test_byte_ranges(header: str, expected: tuple[int, int] | None) -> None:
    assert byte_range(header, 100) == expected
