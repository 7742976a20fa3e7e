"""Review: the reasons curators give."""

from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from portal.review.models import ReasonTemplate

DEFAULT_REASONS = {
    "uncleared-samples": "Contains uncleared samples",
    "not-human-made": "Not human-made",
    "quality": "Quality below the vault's bar",
    "duplicate": "Duplicate of existing material",
    "metadata": "Metadata is inaccurate",
}


class ReasonTemplateFactory(DjangoModelFactory):
    """A reason template by code. The migration seeds these; transactional tests flush tables,
    so this makes sure the one a test names exists (and returns the seeded one if it does)."""

    class Meta:
        model = ReasonTemplate
        django_get_or_create = ("code",)

    code = "quality"
    title = factory.LazyAttribute(lambda reason: DEFAULT_REASONS.get(reason.code, reason.code))
    text = factory.LazyAttribute(lambda reason: f"Because: {reason.code}.")
