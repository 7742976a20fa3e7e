"""The hosted Connect onboarding page, a stand-in for Stripe's (``/connect/onboarding/<acct>``).

An account link's URL leads here. The first visit shows a form; submitting it completes the
account's onboarding (as :meth:`StripeTestServer.complete_onboarding` does) and redirects to the
link's ``return_url``. A used or expired link redirects to its ``refresh_url`` (an unknown one,
or one without a ``refresh_url``, answers 404).
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from .control import as_bool

if TYPE_CHECKING:
    from .handler import RequestHandler


def handle_onboarding(h: RequestHandler, path: str, query: str, body: bytes) -> None:
    app = h.app
    account = path.rsplit("/", 1)[-1]
    args = parse_qs(query) | parse_qs(body.decode("utf-8", "replace"))
    token = (args.get("link") or [""])[0]
    complete = as_bool((args.get("complete") or ["0"])[0])
    with app.state.lock:
        link = app.state.links.get(token)
        valid = (
            link is not None
            and link.account == account
            and not link.completed
            and app.state.now() <= link.expires_at
            and (complete or not link.visited)
        )
        if valid and link is not None:
            if complete:
                link.completed = True
            else:
                link.visited = True
    if not valid or link is None:
        if link is not None and link.refresh_url:
            h.reply(302, b"", {"Location": link.refresh_url}, "text/html")
        else:
            h.reply(
                404,
                b"<!doctype html><title>Link expired</title><p>This onboarding link is "
                b"invalid, expired or was already used.</p>\n",
                content_type="text/html; charset=utf-8",
            )
        return
    if complete:
        app.complete_onboarding(account)
        if link.return_url:
            h.reply(302, b"", {"Location": link.return_url}, "text/html")
        else:
            h.reply(
                200,
                b"<!doctype html><title>Onboarding complete</title><p>Onboarding complete.</p>\n",
                content_type="text/html; charset=utf-8",
            )
        return
    action = escape(f"/connect/onboarding/{account}")
    leave = (
        f'<p><a id="return" href="{escape(link.return_url)}">Return without finishing</a></p>'
        if link.return_url
        else ""
    )
    page = (
        "<!doctype html><html><head><title>Stripe test onboarding</title></head><body>"
        f"<h1>Onboarding for {escape(account)}</h1>"
        "<p>Stripe test server: hosted Connect onboarding stand-in.</p>"
        f'<form method="post" action="{action}">'
        f'<input type="hidden" name="link" value="{escape(token)}">'
        '<input type="hidden" name="complete" value="1">'
        '<button id="complete-onboarding" type="submit">Complete onboarding</button>'
        f"</form>{leave}</body></html>\n"
    )
    h.reply(200, page.encode("utf-8"), content_type="text/html; charset=utf-8")
