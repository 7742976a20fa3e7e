"""Facts about the HTTP client that every domain reads the same way."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """The client's IP address: REMOTE_ADDR, unless TRUSTED_PROXIES says how many reverse
    proxies of ours stand in front and append to X-Forwarded-For.

    The header is written by whoever sends the request, so by default it is ignored: trusting it
    would let an attacker choose a fresh address for every attempt. With N trusted proxies, the
    address the outermost of them saw is the N-th entry from the right (as DRF's NUM_PROXIES).
    """
    remote = str(request.META.get("REMOTE_ADDR", ""))
    proxies = int(getattr(settings, "TRUSTED_PROXIES", 0))
    if proxies <= 0:
        return remote
    header = str(request.META.get("HTTP_X_FORWARDED_FOR", ""))
    hops = [hop.strip() for hop in header.split(",")]
    hops = [hop for hop in hops if hop]
    if not hops:
        return remote
    return hops[-min(proxies, len(hops))]
