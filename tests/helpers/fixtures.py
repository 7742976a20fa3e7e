"""Fixtures that more than one test folder's conftest uses: each imports them by name."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _cold_indexes() -> Iterator[None]:
    """The fingerprint indexes are per-process caches: every test starts and ends without one,
    so a stem stored by one test is never matched by the next."""
    from portal.stems.fingerprint_indexes import reset_indexes

    reset_indexes()
    yield
    reset_indexes()
