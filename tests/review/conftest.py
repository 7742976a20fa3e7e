from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.files.storage import default_storage

from tests.review import factories


@pytest.fixture(autouse=True)
def _remove_stored_files() -> Iterator[None]:
    """Delete the audio a test stored, so local runs do not pile files up."""
    yield
    names = list(factories.STORED)
    factories.STORED.clear()
    for name in names:
        try:
            if default_storage.exists(name):
                default_storage.delete(name)
        except Exception:
            pass


@pytest.fixture
def make_stem():  # type: ignore[no-untyped-def]
    return factories.make_stem


@pytest.fixture
def reason(db: None):  # type: ignore[no-untyped-def]
    return factories.reason("quality")


@pytest.fixture(autouse=True)
def _fast_passwords(settings):  # type: ignore[no-untyped-def]
    # The role fixtures hash a password each; the default hasher costs ~0.4 s a user on the
    # shared cores, and nothing here tests passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
