"""Content-Security-Policy on every response.

Django 5.2 has no CSP of its own (6.0 adds one), and django-csp is not a dependency; the policy
is small enough to keep here. Pages load scripts and stylesheets from this origin only: no inline
<script>, no inline event handlers, no style attributes (tests/core/test_csp.py checks the
templates). Audio may come from the storage's origin too, where stems are served by signed S3
URLs. The API docs (Swagger UI from drf-spectacular-sidecar) get their own, looser policy: its
page carries an inline <style> block and its bundle sets styles and data: images at run time.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse


def _policy(**overrides: str) -> str:
    directives = {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "'self'",
        "media-src": " ".join(["'self'", *getattr(settings, "CSP_MEDIA_ORIGINS", [])]),
        "object-src": "'none'",
        "base-uri": "'self'",
        "frame-ancestors": "'none'",
        # No form-action: the payouts page posts to a view that redirects to Stripe's hosted
        # onboarding, and Chromium applies form-action to that redirect.
    }
    directives.update(overrides)
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def media_source_policy() -> str:
    """The pages' policy for a page that plays through Media Source Extensions (hls.js on
    /listen/): the <audio> element's source is then a blob: URL of the MediaSource object, so
    media-src needs blob: there. Only media: scripts, workers and styles stay 'self'."""
    media = ["'self'", "blob:", *getattr(settings, "CSP_MEDIA_ORIGINS", [])]
    return _policy(**{"media-src": " ".join(media)})


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.pages = _policy()
        self.docs = _policy(**{"style-src": "'self' 'unsafe-inline'", "img-src": "'self' data:"})

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:  # a view that sets its own keeps it
            docs = request.path == reverse("api_docs")
            response["Content-Security-Policy"] = self.docs if docs else self.pages
        return response
