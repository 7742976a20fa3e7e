"""What every review and artist page shares: who may open it, its stem, its paging."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse

from portal.accounts.models import Role
from portal.review import selectors
from portal.stems.models import Stem

View = Callable[..., HttpResponse]
REVIEWERS = (Role.CURATOR, Role.STAFF)


def roles_required(*roles: str) -> Callable[[View], View]:
    """Anonymous visitors go to the login page; a signed-in account of another role gets 403."""

    who = " and ".join(f"{Role(role).label.lower()}s" for role in roles)
    who = who.replace("staffs", "staff")

    def decorate(view: View) -> View:
        @wraps(view)
        @login_required
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if getattr(request.user, "role", None) not in roles:
                # The 403 page shows this reason (portal/site/views.py permission_denied).
                raise DjangoPermissionDenied(f"This page is for {who}.")
            return view(request, *args, **kwargs)

        return guarded

    return decorate


def stem_or_404(stem_id: int) -> Stem:
    stem = selectors.stem_for_review(stem_id=stem_id)
    if stem is None:
        raise Http404("No such stem.")
    return stem


def page_of(request: HttpRequest, items: Any, per_page: int = 50) -> Any:
    return Paginator(items, per_page).get_page(request.GET.get("page"))


def page_base(request: HttpRequest) -> dict[str, Any]:
    return {"unread_notifications": selectors.unread_count(user=request.user)}
