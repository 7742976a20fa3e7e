from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.files.storage import default_storage


@pytest.fixture(autouse=True)
def _remove_rendered_files(db: None) -> Iterator[None]:
    """Delete the renders a test stored, so local runs do not pile files up (the factories'
    own files are removed by the suite's conftest)."""
    from portal.mixes.file_names import EXTRA_FILES, extra_name
    from portal.mixes.models import Mix

    yield
    rendered = list(Mix.objects.exclude(audio=""))
    names = [m.audio.name for m in rendered]
    names += [extra_name(m, kind) for m in rendered for kind in EXTRA_FILES]
    for name in names:
        try:
            if default_storage.exists(name):
                default_storage.delete(name)
        except Exception:
            pass
