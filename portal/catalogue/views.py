"""The catalogue pages for signed-in people: the list (filters as a GET form, a row per stem
with its waveform, a preview player and "use in a soundtrack") and one stem's page (the same,
with every credit's role and share, the licence's permitted uses and the full waveform);
favourites kept with a POST."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from portal.catalogue import selectors
from portal.catalogue.filters import CatalogueFilters, parse_filters
from portal.catalogue.presenting import request_form_url, stem_card
from portal.catalogue.services.favourites import favourite_add, favourite_remove
from portal.core.errors import ApplicationError, NotFound
from portal.mixes.selectors import vocabulary
from portal.stems.models import Stem, StemKind, StemRole
from portal.stems.selectors import waveform_svg_path

PAGE_SIZE = 20


@login_required
def catalogue(request: HttpRequest) -> HttpResponse:
    status, error = 200, ""
    try:
        filters = parse_filters(request.GET, allow_unknown=True)
    except ApplicationError as exc:
        filters, status, error = CatalogueFilters(), 400, exc.message
    stems = selectors.catalogue_stems(filters=filters, user=request.user)
    page = Paginator(stems, PAGE_SIZE).get_page(request.GET.get("page"))
    rows: list[Any] = list(page.object_list) if not error else []
    previews = selectors.previews_for(rows)
    cards = [_page_card(request, stem, previews.get(stem.pk)) for stem in rows]
    favourite_ids = list(
        selectors.favourites_of(user=request.user).values_list("stem_id", flat=True)
    )
    words = vocabulary()
    return render(
        request,
        "catalogue/catalogue.html",
        {
            "cards": cards,
            "page": page,
            "error": error,
            "query": request.GET,
            "moods": [m["name"] for m in words["moods"]],
            "genres": [g["name"] for g in words["genres"]],
            "roles": StemRole.choices,
            "kinds": StemKind.choices,
            "favourites_form_url": request_form_url(favourite_ids) if favourite_ids else "",
        },
        status=status,
    )


def _page_card(
    request: HttpRequest, stem: Stem, preview: Any, *, detail: bool = False
) -> dict[str, Any]:
    """The API's card of a stem (one presentation for both), with its waveform as SVG."""
    card = stem_card(request, stem, preview, detail=detail)
    card["waveform_path"] = waveform_svg_path(card["waveform_peaks"])
    card["waveform_points"] = max(1, len(card["waveform_peaks"]))
    card["role_label"] = StemRole(stem.role).label if stem.role in StemRole.values else stem.role
    card["kind_label"] = StemKind(stem.kind).label if stem.kind in StemKind.values else stem.kind
    return card


@login_required
def stem_detail(request: HttpRequest, stem_id: int) -> HttpResponse:
    try:
        stem = selectors.catalogue_stem_get(stem_id=stem_id, user=request.user)
    except NotFound:
        # The site's 404 page, with a reason: the catalogue shows approved stems only.
        raise Http404(
            "This stem is not in the catalogue: it may be unknown, still in review, withdrawn "
            "or taken down."
        ) from None
    card = _page_card(request, stem, selectors.previews_for([stem]).get(stem.pk), detail=True)
    return render(request, "catalogue/stem_detail.html", {"stem": card})


@require_POST
@login_required
def favourite_toggle(request: HttpRequest, stem_id: int) -> HttpResponse:
    try:
        if request.POST.get("action") == "remove":
            favourite_remove(stem_id=stem_id, user=request.user)
        else:
            favourite_add(stem_id=stem_id, user=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
        return redirect("catalogue:list")
    return redirect(back)
