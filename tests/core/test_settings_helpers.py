"""The settings' environment helpers refuse what they cannot read instead of guessing.

A typo must stop the start with a message naming the variable and what it accepts: DEBUG=Ture
read as False would quietly run production mode, STRIPE_TIMEOUT_S=12x used to crash with
Python's bare "invalid literal for int()" that names no variable.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.settings import env_bool, env_float, env_int

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("true", True),
        ("True", True),
        ("YES", True),
        ("on", True),
        ("0", False),
        ("false", False),
        ("False", False),
        ("no", False),
        ("off", False),
        (" true ", True),
    ],
)
def test_env_bool_reads_the_usual_spellings_of_yes_and_no(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: bool
) -> None:
    monkeypatch.setenv("STEMVAULT_TEST_FLAG", raw)
    assert env_bool("STEMVAULT_TEST_FLAG", not expected) is expected


@pytest.mark.parametrize("raw", ["", "  "])
def test_env_bool_takes_the_default_when_the_variable_is_empty(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv("STEMVAULT_TEST_FLAG", raw)
    assert env_bool("STEMVAULT_TEST_FLAG", True) is True
    assert env_bool("STEMVAULT_TEST_FLAG", False) is False


@pytest.mark.parametrize("raw", ["Ture", "flase", "2", "y", "enabled", "-1", "true1"])
def test_env_bool_refuses_a_value_that_is_neither_yes_nor_no(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv("DEBUG", raw)
    with pytest.raises(ImproperlyConfigured) as refused:
        env_bool("DEBUG", False)
    message = str(refused.value)
    assert f"DEBUG={raw!r}" in message
    for accepted in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        assert accepted in message


@pytest.mark.parametrize(("raw", "expected"), [("12", 12), ("-3", -3), ("+7", 7), (" 300 ", 300)])
def test_env_int_reads_whole_numbers(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: int
) -> None:
    monkeypatch.setenv("STEMVAULT_TEST_INT", raw)
    assert env_int("STEMVAULT_TEST_INT", 5) == expected


def test_env_int_takes_the_default_when_the_variable_is_unset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("STEMVAULT_TEST_INT", raising=False)
    assert env_int("STEMVAULT_TEST_INT", 5) == 5


@pytest.mark.parametrize("raw", ["12x", "1.5", "1e3", "1_000", "twelve", "0x10", "١٢"])
def test_env_int_refuses_what_is_not_a_whole_number(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv("STRIPE_TIMEOUT_S", raw)
    with pytest.raises(ImproperlyConfigured) as refused:
        env_int("STRIPE_TIMEOUT_S", 20)
    message = str(refused.value)
    assert f"STRIPE_TIMEOUT_S={raw!r}" in message
    assert "whole number" in message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("2", 2.0), ("0.5", 0.5), (".25", 0.25), ("3.", 3.0), ("-1.5", -1.5), ("1e-3", 0.001)],
)
def test_env_float_reads_decimal_numbers(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: float
) -> None:
    monkeypatch.setenv("STEMVAULT_TEST_FLOAT", raw)
    assert env_float("STEMVAULT_TEST_FLOAT", 9.0) == expected


def test_env_float_takes_the_default_when_the_variable_is_empty(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STEMVAULT_TEST_FLOAT", "")
    assert env_float("STEMVAULT_TEST_FLOAT", 2.0) == 2.0


@pytest.mark.parametrize("raw", ["2s", "nan", "inf", "-inf", "1_000", "1,5", ".", "two"])
def test_env_float_refuses_what_is_not_a_finite_number(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv("JOB_HEARTBEAT_S", raw)
    with pytest.raises(ImproperlyConfigured) as refused:
        env_float("JOB_HEARTBEAT_S", 2.0)
    message = str(refused.value)
    assert f"JOB_HEARTBEAT_S={raw!r}" in message
    assert "not a number" in message


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("DEBUG", "Ture"),
        ("SESSION_COOKIE_SECURE", "maybe"),
        ("STRIPE_TIMEOUT_S", "12x"),
        ("JOB_HEARTBEAT_S", "2s"),
        ("JOB_STALE_AFTER_S", "nan"),
    ],
)
def test_the_settings_refuse_to_load_with_an_unreadable_value(
    tmp_path: Path, name: str, raw: str
) -> None:
    # The helpers run when the settings module is imported, so import it afresh in a process
    # of its own with the bad value set.
    env = {**os.environ, "VAR_DIR": str(tmp_path), name: raw}
    result = subprocess.run(
        [sys.executable, "-c", "import portal.settings"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"{name}={raw!r}" in result.stderr


def test_the_settings_load_with_readable_values(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "VAR_DIR": str(tmp_path),
        "DEBUG": "True",
        "STRIPE_TIMEOUT_S": "12",
        "JOB_HEARTBEAT_S": "0.5",
    }
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import portal.settings as s; print(s.DEBUG, s.STRIPE_TIMEOUT_S, s.JOB_HEARTBEAT_S)",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "12", "0.5"]
