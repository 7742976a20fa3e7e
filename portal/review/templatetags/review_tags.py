"""`{% stem_decisions stem as decisions %}`: the curators' decisions on a stem, for pages of
domains below review (the stem page) that must not import review themselves."""

from __future__ import annotations

from django import template

from portal.review.models import Decision
from portal.review.selectors import decisions_for_stem
from portal.stems.models import Stem

register = template.Library()


@register.simple_tag
def stem_decisions(stem: Stem) -> list[Decision]:
    return list(decisions_for_stem(stem=stem))
