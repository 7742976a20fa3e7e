"""`{% stem_usage stem as usage %}`: where a stem is used, for its artist's stem page.

The stem page belongs to stems, which stands below the catalogue; it asks through this tag, as
it asks review and mixes through theirs. The view has already decided the viewer may see the
stem (its uploader, a credited artist, a curator or staff)."""

from __future__ import annotations

from django import template

from portal.catalogue.usage import StemUsage
from portal.catalogue.usage import stem_usage as usage_of
from portal.stems.models import Stem

register = template.Library()


@register.simple_tag
def stem_usage(stem: Stem) -> StemUsage:
    return usage_of(stem_ids=[stem.pk])[stem.pk]
