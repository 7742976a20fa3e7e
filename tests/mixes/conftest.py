from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.files.storage import default_storage

from tests.mixes import factories


@pytest.fixture(autouse=True)
def _remove_stored_files(db: None) -> Iterator[None]:
    """Delete the stems and renders a test stored, so local runs do not pile files up."""
    from portal.mixes.models import Mix

    yield
    names = list(factories.STORED)
    factories.STORED.clear()
    names += [m.audio.name for m in Mix.objects.exclude(audio="")]
    for name in names:
        try:
            if default_storage.exists(name):
                default_storage.delete(name)
        except Exception:
            pass
