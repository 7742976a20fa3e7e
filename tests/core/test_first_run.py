"""`make run` as a new user sees it: quiet steps, one "ready" line, mail in files, honest logs."""

from __future__ import annotations

import io
import logging
import os
import socket
import subprocess
import sys

import pytest
from django.core import mail
from django.core.mail import get_connection
from django.core.management import call_command

from tests.conftest import ROOT


def _console_handler() -> logging.StreamHandler:  # type: ignore[type-arg]
    # The handler settings.LOGGING put on the root logger (pytest adds its own beside it).
    handlers = [h for h in logging.getLogger().handlers if type(h) is logging.StreamHandler]
    assert len(handlers) == 1, handlers
    return handlers[0]


@pytest.fixture
def console() -> io.StringIO:
    handler = _console_handler()
    captured = io.StringIO()
    previous = handler.setStream(captured)
    yield captured
    handler.setStream(previous)


def test_a_refused_page_logs_one_line_without_a_traceback(console, curator, client_for, settings):
    settings.DEBUG = True  # as under `make run`, where Django's own handler also printed
    assert client_for(curator).get("/audit/").status_code == 403
    assert client_for(curator).get("/no-such-page/").status_code == 404
    lines = console.getvalue().splitlines()
    assert "Traceback" not in console.getvalue()
    assert [line for line in lines if "Forbidden" in line and "/audit/" in line] == [
        next(line for line in lines if "Forbidden" in line)
    ]
    # Django's own `django` handler under DEBUG used to print this a second time.
    assert sum("Not Found: /no-such-page/" in line for line in lines) == 1


def test_a_server_error_keeps_its_traceback(console):
    logger = logging.getLogger("django.request")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logger.error("Internal Server Error: /x", exc_info=True, extra={"status_code": 500})
    assert "Traceback" in console.getvalue() and "RuntimeError: boom" in console.getvalue()


def test_mail_goes_to_a_file_with_one_line_on_the_log(tmp_path, console):
    connection = get_connection("portal.core.mail.FileEmailBackend", file_path=str(tmp_path))
    message = mail.EmailMessage(
        "“Skylark” is in the vault", "Hello Ada,\nthe body.", to=["ada@example.org"]
    )
    assert connection.send_messages([message]) == 1
    files = list(tmp_path.iterdir())
    assert len(files) == 1
    stored = files[0].read_text()
    assert "To: ada@example.org" in stored and "the body." in stored
    lines = [line for line in console.getvalue().splitlines() if "mail to" in line]
    assert lines == [f"mail to ada@example.org: “Skylark” is in the vault ({files[0]})"]


def test_links_in_mail_use_the_port_the_server_runs_on():
    env = {k: v for k, v in os.environ.items() if k != "SITE_URL"} | {"PORT": "8765"}
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings;"
            " print(settings.SITE_URL)",
        ],
        env=env | {"DJANGO_SETTINGS_MODULE": "portal.settings"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "http://127.0.0.1:8765"


def test_seed_demo_with_a_log_prints_one_line_and_keeps_the_details(
    tmp_path, monkeypatch, settings
):
    # A stand-in seeder with the real ones' contract (writes lines, sends a notice), so the
    # command's own behaviour is tested without seeding the whole demo (the browser tests do).
    import types

    from portal.site.management.commands import seed_demo

    def seed(*, out):
        out.write("demo user ada (artist)")
        mail.send_mail("Welcome", "Hello.", None, ["ada@demo.stemvault.local"])

    module = types.ModuleType("tests_seeder_stand_in")
    module.seed = seed  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tests_seeder_stand_in", module)
    monkeypatch.setattr(seed_demo, "SEEDERS", ["tests_seeder_stand_in"])
    settings.EMAIL_BACKEND = "portal.core.mail.FileEmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path / "mail"
    out = io.StringIO()
    log = tmp_path / "seed.log"
    call_command("seed_demo", "--log", str(log), stdout=out)
    assert len(out.getvalue().splitlines()) == 1 and "demo seeded in" in out.getvalue()
    assert log.read_text().splitlines()[0] == "demo user ada (artist)"
    assert log.read_text().splitlines()[1].startswith("mail to ada@demo.stemvault.local: Welcome")
    # Back to normal afterwards: mail lines reach the console again.
    assert logging.getLogger("portal.mail").propagate is True


def _readline(stream, timeout_s: float = 90.0) -> str:
    """A line from a child's pipe, or a failure after timeout_s (never a hung suite)."""
    import select

    ready, _, _ = select.select([stream], [], [], timeout_s)
    assert ready, f"no line from the server within {timeout_s} s"
    return stream.readline()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_runportal_says_ready_once_the_server_answers(tmp_path):
    port = _free_port()
    # A throwaway local setup: SQLite under tmp, the embedded broker, local storage.
    keep = {"PATH", "HOME", "LANG", "PYTHONPATH"}
    env = {k: v for k, v in os.environ.items() if k in keep} | {
        "VAR_DIR": str(tmp_path),
        "DEBUG": "1",
        "DJANGO_SETTINGS_MODULE": "portal.settings",
    }
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runportal", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        first = _readline(server.stdout)
        # The line comes only once a connection is accepted: one made right after it succeeds.
        with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
            conn.sendall(b"GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            assert conn.recv(12).startswith(b"HTTP/1.")
        assert first.strip() == f"ready at http://127.0.0.1:{port}/ (embedded worker running)"
        # Written and flushed together with the first line, so already in the pipe.
        assert "demo logins" in server.stdout.readline().lower()
    finally:
        server.terminate()
        try:
            _, err = server.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            _, err = server.communicate()
    assert "Starting development server" not in err
