from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.royalties.factories import MIX_CREATED, even_mix, make_stem


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    # The role fixtures set real passwords; a slow hash there is most of these tests' time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# The tests' month is March 2024: the apps report its plays on April 1st (within the late
# window), and March can close without being forced once its window has passed.
REPORTED = datetime(2024, 4, 1, 12, 0, tzinfo=UTC)
MARCH_WINDOW_PASSED = datetime(2024, 5, 6, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _reported_in_april(clock: Any) -> Any:
    clock.set(REPORTED)
    return clock


@pytest.fixture
def stem(artist: Any) -> Any:
    return make_stem(artist, title="Night drums")


@pytest.fixture
def mix(stem: Any, client_app: Any) -> Any:
    """A 60 s mix of one stem credited wholly to `artist`, requested by `client_app`."""
    return even_mix([stem], 60, app=client_app, created_at=MIX_CREATED)


@pytest.fixture
def player(app_api: Any, client_app: Any) -> Any:
    """The API client of an approved client app (a game by `developer`, credited nowhere)."""
    return app_api(client_app)
