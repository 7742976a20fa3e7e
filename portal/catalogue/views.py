"""The catalogue page for signed-in people: filters as a GET form, a row per stem with its
waveform, a preview player and "use in a soundtrack"; favourites kept with a POST."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from portal.catalogue import selectors
from portal.catalogue.filters import CatalogueFilters, parse_filters
from portal.catalogue.presenting import request_form_url, stem_card
from portal.catalogue.services.favourites import favourite_add, favourite_remove
from portal.core.errors import ApplicationError
from portal.mixes.selectors import vocabulary
from portal.stems.models import StemKind, StemRole
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
    cards = []
    for stem in rows:
        card = stem_card(request, stem, previews.get(stem.pk))
        card["waveform_path"] = waveform_svg_path(card["waveform_peaks"])
        card["waveform_points"] = max(1, len(card["waveform_peaks"]))
        cards.append(card)
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
