"""A client app's side of the Sync API in tests: request a soundtrack, poll it, download the
file and check its signature with the renderer's CLI and the served public key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.conftest import ROOT

if TYPE_CHECKING:
    from portal.mixes.models import Mix

LIST_URL = "/api/v1/soundtracks/"
"""Where a client app lists and requests soundtracks."""


def detail_url(mix_id: Any) -> str:
    """Where a client app polls one soundtrack."""
    return f"/api/v1/soundtracks/{mix_id}/"


def download(api: Any, url: str) -> bytes:
    """The bytes a streamed 200 response at `url` carries."""
    response = api.get(url)
    assert response.status_code == 200, response.content[:300]
    return b"".join(response.streaming_content)


def public_key(tmp_path: Path) -> Path:
    """Fetch the platform's public key anonymously, as a PEM file under `tmp_path`."""
    from rest_framework.test import APIClient

    response = APIClient().get("/api/v1/mixes/public-key/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/x-pem-file")
    path = tmp_path / "stemvault.pub.pem"
    path.write_bytes(response.content)
    return path


def verify(path: Path, key: Path) -> subprocess.CompletedProcess[str]:
    """Run `python -m renderer verify` on the file at `path` with the public key `key`."""
    return subprocess.run(
        [sys.executable, "-m", "renderer", "verify", str(path), "--public-key", str(key)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def request_soundtrack(
    app_api: Any, client_app: Any, run_jobs: Any, **fields: Any
) -> tuple[Mix, bytes]:
    """Request a 10 s calm soundtrack as `client_app`, run the jobs, and return it and its file."""
    from portal.mixes.models import Mix

    api = app_api(client_app)
    response = api.post(LIST_URL, {"duration_s": 10, "mood": "calm", **fields}, format="json")
    assert response.status_code == 202, response.content
    run_jobs()
    done = api.get(detail_url(response.json()["id"])).json()
    assert done["status"] == "done", done
    return Mix.objects.get(pk=done["id"]), download(api, done["audio_url"])
