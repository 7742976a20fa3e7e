"""Optional: list "portal.review.context_processors.notifications" in TEMPLATES to show the
unread count on every page (review's own pages pass it themselves)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from portal.review.selectors import unread_count


def notifications(request: HttpRequest) -> dict[str, Any]:
    return {"unread_notifications": unread_count(user=getattr(request, "user", None))}
