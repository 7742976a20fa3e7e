"""The hosted Connect onboarding page, a stand-in for Stripe's (``/connect/onboarding/<acct>``).

An account link's URL leads here. The first visit shows a form, labelled at the top as
Stemvault's local test server and not Stripe (the demo's artists see it); submitting it completes the
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
    if valid and not complete:
        app._persist()  # a visited link stays visited after a restart (complete saves itself)
    if not valid or link is None:
        if link is not None and link.refresh_url:
            h.reply(302, b"", {"Location": link.refresh_url}, "text/html")
        else:
            h.reply(
                404,
                b"<!doctype html><title>Link expired</title><p>This onboarding link is "
                b"invalid, expired or was already used.</p>\n",
                content_type=HTML,
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
                content_type=HTML,
            )
        return
    with app.state.lock:
        acct = app.state.accounts.get(account) or {}
        email, country = str(acct.get("email") or ""), str(acct.get("country") or "")
    h.reply(200, _form_page(account, token, email, country, link.return_url), content_type=HTML)


HTML = "text/html; charset=utf-8"
_STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem}"
    ".banner{background:#fff3cd;border:2px solid #b58900;border-radius:6px;padding:.75rem 1rem}"
    "button{font:inherit;padding:.5rem 1.25rem;margin:.5rem 0;cursor:pointer}"
    "dt{font-weight:600}"
)


def _form_page(account: str, token: str, email: str, country: str, return_url: str | None) -> bytes:
    # Said plainly at the top: this is not Stripe, so nobody types real bank details into it.
    details = "".join(
        f"<dt>{label}</dt><dd>{escape(value)}</dd>"
        for label, value in (("Account", account), ("Email", email), ("Country", country))
        if value
    )
    leave = (
        f'<p><a id="return" href="{escape(return_url)}">Return without finishing</a></p>'
        if return_url
        else ""
    )
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        "<title>Onboarding: Stemvault local Stripe test server</title>"
        f"<style>{_STYLE}</style></head><body>"
        '<p class="banner" id="test-server-banner"><strong>This is not Stripe.</strong> It is '
        "Stemvault's local Stripe test server, a stand-in for Stripe's hosted onboarding page "
        "for the demo and the tests. No real money moves and nothing here leaves this "
        "computer: do not enter real personal or bank details.</p>"
        "<h1>Set up payouts (test mode)</h1>"
        f"<dl>{details}</dl>"
        "<p>On Stripe you would now give your legal name, date of birth, address, a bank "
        "account and tax details, and accept Stripe's terms. Here one click completes "
        "onboarding as if you had, and takes you back to Stemvault.</p>"
        f'<form method="post" action="{escape(f"/connect/onboarding/{account}")}">'
        f'<input type="hidden" name="link" value="{escape(token)}">'
        '<input type="hidden" name="complete" value="1">'
        '<button id="complete-onboarding" type="submit">Complete onboarding</button>'
        f"</form>{leave}</body></html>\n"
    )
    return page.encode("utf-8")
