"""Content-Security-Policy: on every response, and templates that keep to it."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.django_db

TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE | re.DOTALL)
STYLE_ATTRIBUTE = re.compile(r"<[a-z][^>]*\sstyle\s*=", re.IGNORECASE | re.DOTALL)
STYLE_ELEMENT = re.compile(r"<style\b", re.IGNORECASE)
JAVASCRIPT_URL = re.compile(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", re.IGNORECASE)


def test_the_pages_policy_allows_only_this_sites_scripts_and_styles(client):
    policy = client.get("/")["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


@pytest.mark.parametrize(
    "url", ["/", "/login/", "/signup/", "/password-reset/", "/no-such-page/", "/api/v1/me/"]
)
def test_every_response_carries_the_policy(client, url):
    assert "default-src 'self'" in client.get(url)["Content-Security-Policy"]


def test_signed_in_pages_carry_the_policy(artist, client_for):
    browser = client_for(artist)
    for url in (
        "/dashboard/",
        "/contribute/",
        "/catalogue/",
        "/soundtracks/",
        "/royalties/",
        "/payouts/",
    ):
        response = browser.get(url)
        assert response.status_code == 200, url
        assert response["Content-Security-Policy"].startswith("default-src 'self'"), url


def test_only_the_api_docs_allow_inline_styles(client):
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert "style-src 'self' 'unsafe-inline'" in docs["Content-Security-Policy"]
    assert "script-src 'self';" in docs["Content-Security-Policy"]
    # Swagger UI's start-up script is a file, not an inline <script>.
    assert INLINE_SCRIPT.search(docs.content.decode()) is None
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and "javascript" in script["Content-Type"]


def test_stored_audio_on_s3_may_play_under_the_policy(settings):
    from portal.core.csp import ContentSecurityPolicyMiddleware

    settings.CSP_MEDIA_ORIGINS = ["http://127.0.0.1:5077", "http://*.127.0.0.1:5077"]
    policy = ContentSecurityPolicyMiddleware(lambda request: None).pages  # type: ignore[arg-type,return-value]
    assert "media-src 'self' http://127.0.0.1:5077 http://*.127.0.0.1:5077" in policy


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_template_has_inline_scripts_handlers_or_styles(template):
    text = template.read_text()
    assert not INLINE_SCRIPT.search(text), "inline <script>: move it to static/js/"
    assert not EVENT_HANDLER.search(text), "inline on...= handler: use addEventListener"
    assert not STYLE_ATTRIBUTE.search(text), "style attribute: use a class in static/css/"
    assert not STYLE_ELEMENT.search(text), "<style> element: move it to static/css/"
    assert not JAVASCRIPT_URL.search(text), "javascript: URL"
