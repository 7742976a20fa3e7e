from __future__ import annotations

from typing import Any

import pytest

from tests.factories.royalties import (
    REPORTED,
    EarlyMixFactory,
    PlayedStemFactory,
)


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    # The role fixtures set real passwords; a slow hash there is most of these tests' time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _reported_in_april(clock: Any) -> Any:
    clock.set(REPORTED)
    return clock


@pytest.fixture
def stem(artist: Any) -> Any:
    return PlayedStemFactory(artist=artist, title="Night drums")


@pytest.fixture
def mix(stem: Any, client_app: Any) -> Any:
    """A 60 s mix of one stem credited wholly to `artist`, requested by `client_app`."""
    return EarlyMixFactory(stems=[stem], even_seconds=60, client_app=client_app)


@pytest.fixture
def player(app_api: Any, client_app: Any) -> Any:
    """The API client of an approved client app (a game by `developer`, credited nowhere)."""
    return app_api(client_app)
