"""`manage.py check --deploy` warns when machines would not share their keys."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.checks import run_checks
from django.test import override_settings

from tests.conftest import ROOT

GENERATED = "k" * 64  # what var/secret_key holds on this (pretend) machine


def _deploy_ids() -> set[str]:
    return {message.id for message in run_checks(include_deployment_checks=True) if message.id}


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "secret_key").write_text(GENERATED)
    for name in ("STEMVAULT_SIGNING_KEY", "C2PA_CERT_CHAIN_PEM", "C2PA_PRIVATE_KEY_PEM"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_a_broker_with_the_generated_secret_key_warns(machine):
    with override_settings(
        BROKER_URL="redis://127.0.0.1:6379/0",
        SECRET_KEY=GENERATED,
        SECRET_KEY_FILE=machine / "secret_key",
        STEMVAULT_SIGNING_KEY=str(machine / "signing.pem"),
    ):
        ids = _deploy_ids()
    assert "stemvault.W001" in ids and "stemvault.W002" not in ids


def test_a_broker_without_a_configured_signing_key_warns(machine):
    with override_settings(
        BROKER_URL="amqp://guest:guest@127.0.0.1:5672/",
        SECRET_KEY="a-shared-key-" + "x" * 50,
        SECRET_KEY_FILE=machine / "secret_key",
        STEMVAULT_SIGNING_KEY="",
    ):
        ids = _deploy_ids()
    assert "stemvault.W002" in ids and "stemvault.W001" not in ids


def test_one_machine_without_a_broker_needs_no_shared_keys(machine):
    with override_settings(
        BROKER_URL="", SECRET_KEY=GENERATED, SECRET_KEY_FILE=machine / "secret_key"
    ):
        ids = _deploy_ids()
    assert not ids & {"stemvault.W001", "stemvault.W002"}


def test_the_deploy_check_command_names_both_keys_for_a_broker_left_on_defaults(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DEBUG", "SECRET_KEY", "STEMVAULT_SIGNING_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    # Its own VAR_DIR: a fresh machine, which generates its own secret key on first start.
    env.update(VAR_DIR=str(tmp_path), BROKER_URL="redis://127.0.0.1:6379/0")
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "stemvault.W001" in result.stderr and "stemvault.W002" in result.stderr


def test_a_broker_without_a_content_credentials_chain_warns(machine):
    with override_settings(BROKER_URL="redis://127.0.0.1:6379/0", C2PA_CERT_CHAIN_PEM=""):
        assert "stemvault.W003" in _deploy_ids()
    chain, key = machine / "chain.pem", machine / "key.pem"
    with override_settings(
        BROKER_URL="redis://127.0.0.1:6379/0",
        C2PA_CERT_CHAIN_PEM=str(chain),
        C2PA_PRIVATE_KEY_PEM=str(key),
    ):
        assert not _deploy_ids() & {"stemvault.W003", "stemvault.E003"}
    with override_settings(C2PA_CERT_CHAIN_PEM=str(chain), C2PA_PRIVATE_KEY_PEM=""):
        assert "stemvault.E003" in _deploy_ids()
