from __future__ import annotations

from typing import Any

import pytest

from tests.royalties.factories import even_mix, make_stem


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    # The role fixtures set real passwords; a slow hash there is most of these tests' time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def stem(artist: Any) -> Any:
    return make_stem(artist, title="Night drums")


@pytest.fixture
def mix(stem: Any) -> Any:
    """A 60 s mix of one stem credited wholly to `artist`."""
    return even_mix([stem], 60)


@pytest.fixture
def player(api_for: Any, outsider: Any) -> Any:
    """A player app's API client: a player-scoped token (of an account with no other stake)."""
    return api_for(outsider, scope="player")
