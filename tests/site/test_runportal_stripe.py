"""`manage.py runportal` as `make run` starts it: the local Stripe test server beside the portal
without Stripe keys, never with one."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _readline(stream: Any, timeout_s: float = 90.0) -> str:
    ready, _, _ = select.select([stream], [], [], timeout_s)
    assert ready, f"no line from the server within {timeout_s} s"
    return str(stream.readline())


class Portal:
    def __init__(self, var_dir: Path, extra_env: dict[str, str]) -> None:
        self.port, self.stripe_port = _free_port(), _free_port()
        keep = {"PATH", "HOME", "LANG", "PYTHONPATH"}
        env = {k: v for k, v in os.environ.items() if k in keep} | {
            "VAR_DIR": str(var_dir),
            "DEBUG": "1",
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "PORT": str(self.port),
        }
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input", "--verbosity", "0"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        self.process = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "runportal",
                "--port",
                str(self.port),
                "--stripe-port",
                str(self.stripe_port),
            ],
            cwd=ROOT,
            env=env | extra_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def lines_until_ready(self) -> list[str]:
        assert self.process.stdout is not None
        first = _readline(self.process.stdout)
        assert first.startswith(f"ready at http://127.0.0.1:{self.port}/"), first
        # Written and flushed with the first line: already read into the pipe's buffer, where
        # select() would not see it.
        return [first, self.process.stdout.readline()]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()


@pytest.fixture
def portal(tmp_path: Path) -> Iterator[Any]:
    started: list[Portal] = []

    def start(**extra_env: str) -> Portal:
        started.append(Portal(tmp_path, extra_env))
        return started[-1]

    yield start
    for one in started:
        one.stop()


def test_without_keys_the_portal_pays_against_its_local_test_server(portal: Any) -> None:
    server = portal()
    ready, logins = server.lines_until_ready()
    assert ready.strip() == f"ready at http://127.0.0.1:{server.port}/ (embedded worker running)"
    assert "demo logins" in logins.lower()
    assert server.process.stdout is not None
    payouts = server.process.stdout.readline()  # flushed with the two lines before it
    stripe_url = f"http://127.0.0.1:{server.stripe_port}"
    assert stripe_url in payouts and "no real money" in payouts
    # It speaks Stripe's API (a key it does not know is refused as Stripe would).
    answer = requests.get(
        f"{stripe_url}/v1/balance", headers={"Authorization": "Bearer sk_test_x"}, timeout=5
    )
    assert answer.status_code == 401 and answer.json()["error"]["type"] == "invalid_request_error"


def test_with_a_stripe_key_no_local_server_is_started(portal: Any) -> None:
    server = portal(STRIPE_SECRET_KEY="sk_test_a_real_account")
    server.lines_until_ready()
    # The test server would have been listening before the ready line.
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", server.stripe_port), 1):
        pass
