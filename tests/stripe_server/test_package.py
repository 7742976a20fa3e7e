"""The stripe_server package on its own: importable from the repository root by the demo, the
benchmarks and the tests, with the standard library only."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import stripe_server
from stripe_server.fixtures import default_fixtures_path

REPO = Path(__file__).resolve().parents[2]

# Runs with `python -S`: no site-packages at all, so any import beyond the standard library fails.
# Imports every module of the package, then serves one request.
_STDLIB_ONLY = """
import json, pkgutil, sys, urllib.request
sys.path.insert(0, sys.argv[1])
before = set(sys.modules)
import stripe_server
for module in pkgutil.walk_packages(stripe_server.__path__, "stripe_server."):
    __import__(module.name)
with stripe_server.StripeTestServer(api_key="sk_test_x", balance={"usd": 7}) as server:
    request = urllib.request.Request(
        server.base_url + "/v1/balance", headers={"Authorization": "Bearer sk_test_x"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        amount = json.load(response)["available"][0]["amount"]
imported = sorted({name.split(".")[0] for name in set(sys.modules) - before})
print(json.dumps({"amount": amount, "imported": imported}))
"""


def test_the_package_root_exports_what_callers_use() -> None:
    from stripe_server import (  # noqa: F401
        Fault,
        Fixtures,
        RequestRecord,
        StripeError,
        StripeTestServer,
        WebhookDelivery,
        default_fixtures_path,
        event_payload,
        fault_error_body,
        sign_payload,
    )

    for control in ("drop_next", "fail_next", "delay_next", "advance_clock", "set_balance"):
        assert callable(getattr(StripeTestServer, control)), control
    assert set(stripe_server.__all__) >= {"StripeTestServer", "event_payload", "sign_payload"}


def test_it_lives_outside_the_test_suite() -> None:
    # make run (the demo seeder imports it) installs the runtime dependencies only.
    assert Path(stripe_server.__file__).resolve().parent == REPO / "stripe_server"


def test_it_needs_nothing_but_the_standard_library() -> None:
    result = subprocess.run(
        [sys.executable, "-S", "-c", _STDLIB_ONLY, str(REPO)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["amount"] == 7
    third_party = [
        name
        for name in report["imported"]
        if name != "stripe_server" and name not in sys.stdlib_module_names
    ]
    assert third_party == []


def test_the_default_fixtures_file_is_the_shared_one_beside_the_repository(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("STRIPE_FIXTURES_PATH", raising=False)
    assert default_fixtures_path() == REPO.parent / "shared" / "stripe" / "fixtures3.json"
