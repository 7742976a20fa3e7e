"""`{% stem_usage stem as usage %}`: where a stem is used, for its artist's stem page.

The stem page belongs to stems, which stands below the catalogue; it asks through this tag, as
it asks review and mixes through theirs. The view has already decided the viewer may see the
stem (its uploader, a credited artist, a curator or staff)."""

from __future__ import annotations

from collections.abc import Iterable

from django import template

from portal.catalogue.usage import StemUsage
from portal.catalogue.usage import stem_usage as usage_of
from portal.stems.models import Stem

register = template.Library()


@register.simple_tag
def stem_usage(stem: Stem) -> StemUsage:
    return usage_of(stem_ids=[stem.pk])[stem.pk]


@register.simple_tag
def stems_usage(stems: Iterable[Stem]) -> dict[int, StemUsage]:
    """`{% stems_usage page_of_stems as usage %}`: one query pair for a whole list."""
    return usage_of(stem_ids=[stem.pk for stem in stems])


@register.simple_tag
def usage_summary(usage: dict[int, StemUsage], stem: Stem) -> str:
    """ "2 soundtracks · 9 plays" (or "—") for one row of the artist's stem list."""
    found = usage.get(stem.pk)
    if found is None or not found.months:
        return "—"
    soundtracks = f"{found.soundtracks} soundtrack{'s' if found.soundtracks != 1 else ''}"
    return f"{soundtracks} · {found.plays} play{'s' if found.plays != 1 else ''}"
