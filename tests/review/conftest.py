from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.factories.review import ReasonTemplateFactory
from tests.factories.stems import StemFactory


@pytest.fixture
def make_stem() -> Callable[..., Any]:
    """`make_stem(artist, **fields)`: a stem waiting for a curator, with the checks, receipt and
    analysis provenance leaves for one (StemFactory's `in_review` and `checked`)."""

    def make(artist: Any, **fields: Any) -> Any:
        return StemFactory(artist=artist, in_review=True, checked=True, **fields)

    return make


@pytest.fixture
def reason(db: None) -> Any:
    return ReasonTemplateFactory(code="quality")


@pytest.fixture(autouse=True)
def _fast_passwords(settings):  # type: ignore[no-untyped-def]
    # The role fixtures hash a password each; the default hasher costs ~0.4 s a user on the
    # shared cores, and nothing here tests passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
