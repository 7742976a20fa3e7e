"""Shared fixtures: roles, API clients, real services, and a background worker.

The suite runs as-is on SQLite, the embedded broker and local storage (`make test`). With
DATABASE_URL, BROKER_URL and S3 settings in the environment, the same tests run on those real
services; tests that need one skip only when REQUIRE_SERVICES is unset, and fail when it is set.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "cc0-samples"
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES", "") not in {"", "0", "false"}


def need(condition: bool, reason: str) -> None:
    """Skip when a real service is missing, unless REQUIRE_SERVICES says it must be there."""
    if condition:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES is set but {reason}")
    pytest.skip(reason)


def pytest_configure(config: pytest.Config) -> None:
    from django.conf import settings

    # Production defaults redirect to HTTPS; the test client speaks plain HTTP.
    settings.SECURE_SSL_REDIRECT = False
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _fresh_cache(request: pytest.FixtureRequest) -> Iterator[None]:
    # Throttle counters, sign-in attempts and claims live in the cache; one test's must not leak
    # into the next. The cache is Redis or a database table: a test that may use the database
    # gets its test database set up first and the table emptied; one that may not cannot reach
    # a database cache at all, so only a Redis one is cleared for it.
    from django.core.cache import caches
    from django.core.cache.backends.db import BaseDatabaseCache

    uses_db = (
        request.node.get_closest_marker("django_db") is not None
        or "_django_db_helper" in request.fixturenames
    )
    if uses_db:
        request.getfixturevalue("_django_db_helper")
    if uses_db or not isinstance(caches["default"], BaseDatabaseCache):
        caches["default"].clear()
    yield


@pytest.fixture(autouse=True)
def _fresh_stream_worker_state() -> Iterator[None]:
    """A render worker keeps the vault and stems' manifest entries it read (portal.streams); a
    test's database, rolled back, may give the next test's stems the same ids and, on a fixed
    test clock, the same vault version: start each test with nothing kept."""
    yield
    for name, attribute in (
        ("portal.streams.engine", "forget_kept"),
        ("portal.streams.services.provenance", "forget_kept"),
    ):
        module = sys.modules.get(name)  # a module never imported kept nothing
        if module is not None:
            getattr(module, attribute)()


@pytest.fixture(autouse=True)
def _remove_factory_files() -> Iterator[None]:
    """Delete the audio the factories stored, so local runs do not pile files up."""
    yield
    # Read through sys.modules: a test may block `tests` imports (payouts' demo test does), and
    # a module never imported stored nothing.
    factories = sys.modules.get("tests.factories.stems")
    STORED = getattr(factories, "STORED", None)
    if not STORED:
        return
    from django.core.files.storage import default_storage

    names = list(STORED)
    STORED.clear()
    for name in names:
        try:
            if default_storage.exists(name):
                default_storage.delete(name)
        except Exception:
            pass


@pytest.fixture
def corpus_dir() -> Path:
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus/cc0-samples is absent (a user's clone has no ../shared)")
    return CORPUS


# --- Roles -----------------------------------------------------------------------------------
@pytest.fixture
def artist(db: None) -> Any:
    from tests.factories.accounts import UserFactory

    return UserFactory(username="alice")


@pytest.fixture
def other_artist(db: None) -> Any:
    from tests.factories.accounts import UserFactory

    return UserFactory(username="bob")


@pytest.fixture
def curator(db: None) -> Any:
    from tests.factories.accounts import UserFactory

    return UserFactory(username="carol", curator=True)


@pytest.fixture
def staff(db: None) -> Any:
    from tests.factories.accounts import UserFactory

    return UserFactory(username="sam", staff=True)


@pytest.fixture
def outsider(db: None) -> Any:
    """A signed-up account with no stake in anything the test touches."""
    from tests.factories.accounts import UserFactory

    return UserFactory(username="mallory")


ROLES = ["artist", "other_artist", "curator", "staff", "outsider", "anonymous"]


@pytest.fixture(params=ROLES)
def any_role(request: pytest.FixtureRequest) -> tuple[str, Any]:
    if request.param == "anonymous":
        return "anonymous", None
    return request.param, request.getfixturevalue(request.param)


@pytest.fixture
def client_for(client: Any) -> Callable[[Any], Any]:
    from django.test import Client

    def make(user: Any) -> Any:
        browser = Client()
        if user is not None:
            browser.force_login(user)
        return browser

    return make


@pytest.fixture
def api_for() -> Callable[..., Any]:
    """An API client authenticated with a real bearer token (None = anonymous)."""
    from rest_framework.test import APIClient

    from portal.accounts.services import token_issue

    def make(user: Any, scope: str = "full") -> APIClient:
        api = APIClient()
        if user is not None:
            issued = token_issue(user=user, name="test", scope=scope)
            api.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.plain}")
        return api

    return make


class Clock:
    """Django's clock under the test's control: `set(moment)`, `advance(delta)`.

    Patches django.utils.timezone.now, which every service and auto_now field reads, so "a
    play reported 40 days late" or "a retry 25 hours later" is tested as it would happen."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, start: Any) -> None:
        from django.utils import timezone

        self.now = start
        monkeypatch.setattr(timezone, "now", lambda: self.now)

    def set(self, moment: Any) -> None:
        self.now = moment

    def advance(self, delta: Any) -> Any:
        self.now = self.now + delta
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    from django.utils import timezone

    return Clock(monkeypatch, timezone.now())


@pytest.fixture
def developer(db: None) -> Any:
    """The owner of a client app (a game studio), credited on no stem."""
    from tests.factories.accounts import UserFactory

    return UserFactory(username="dana")


@pytest.fixture
def client_app(developer: Any) -> Any:
    from tests.factories.clients import ClientAppFactory

    return ClientAppFactory(owner=developer)


@pytest.fixture
def app_api() -> Callable[..., Any]:
    """An API client authenticated with a fresh credential of the given (approved) app."""
    from rest_framework.test import APIClient

    from tests.factories.clients import app_credential

    def make(app: Any) -> APIClient:
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {app_credential(app)}")
        return api

    return make


# --- Background jobs -----------------------------------------------------------------------------
def run_queued_jobs(max_rounds: int = 20) -> int:
    """Run every runnable queued job in this thread, as a worker would. Returns how many ran."""
    from django.utils import timezone

    from portal.jobs.models import Job, JobStatus
    from portal.jobs.services import job_execute

    ran = 0
    for _ in range(max_rounds):
        ids = list(
            Job.objects.filter(status=JobStatus.QUEUED, run_after__lte=timezone.now())
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not ids:
            break
        for job_id in ids:
            job_execute(job_id)
            ran += 1
    return ran


@pytest.fixture
def run_jobs() -> Callable[[], int]:
    return run_queued_jobs


def test_database_url() -> str:
    """A DATABASE_URL that reaches the database this test session runs on."""
    from django.db import connection

    config = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{config['NAME']}"
    user = config.get("USER") or ""
    password = f":{config['PASSWORD']}" if config.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    return f"postgres://{auth}{config.get('HOST') or '127.0.0.1'}:{config.get('PORT') or 5432}/{config['NAME']}"


test_database_url.__test__ = False  # type: ignore[attr-defined]


class WorkerProcess:
    """A real worker in its own process: `rundramatiq` on a real broker, or the embedded one."""

    FAST_ENV = {
        "JOB_HEARTBEAT_S": "0.3",
        "JOB_STALE_AFTER_S": "2",
        "JOB_REDELIVER_AFTER_S": "1",
        "JOB_SWEEP_INTERVAL_S": "0.3",
    }

    def __init__(self, env: dict[str, str] | None = None, modules: tuple[str, ...] = ()) -> None:
        from django.conf import settings

        # env: settings of the worker over FAST_ENV; modules: more modules for a Redis or
        # RabbitMQ worker to import (tests/helpers/stream_faults.py), run with `python -m
        # dramatiq` and the task modules rundramatiq would find.
        self.env, self.modules = env or {}, modules
        self.process: subprocess.Popen[bytes] | None = None
        # Beside the rest of this run's state, so parallel runs with their own VAR_DIR never
        # share (or lack) the folder.
        self.log = Path(settings.VAR_DIR) / f"worker-{os.getpid()}.log"

    def start(self) -> WorkerProcess:
        from django.conf import settings

        env = {**os.environ, **self.FAST_ENV, **self.env, "DATABASE_URL": test_database_url()}
        env.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
        if settings.BROKER_KIND == "embedded":
            assert not self.modules, "extra modules need a real broker's worker"
            command = [sys.executable, "manage.py", "runworker", "--threads", "2"]
        elif self.modules:
            from django_dramatiq.management.commands.rundramatiq import Command

            found = Command(stdout=io.StringIO()).discover_tasks_modules()
            command = [sys.executable, "-m", "dramatiq", "--path", ".", "--processes", "1"]
            command += ["--threads", "2", *found, *self.modules]
        else:
            command = [
                sys.executable,
                "manage.py",
                "rundramatiq",
                "--processes",
                "1",
                "--threads",
                "2",
            ]
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so a kill takes its children too
        )
        return self

    def holds(self, pid: int) -> bool:
        """True if the process `pid` is this worker or one of its children (its group)."""
        try:
            return self.process is not None and os.getpgid(pid) == self.process.pid
        except ProcessLookupError:
            return False

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, no chance to finish or requeue anything."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def worker_process(transactional_db: None) -> Iterator[Callable[..., WorkerProcess]]:
    started: list[WorkerProcess] = []

    def start(env: dict[str, str] | None = None, modules: tuple[str, ...] = ()) -> WorkerProcess:
        worker = WorkerProcess(env, modules).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


@pytest.fixture
def broker_flush() -> Callable[[], None]:
    """Empty the broker, as a restart of a Redis that keeps nothing on disk would."""

    def flush() -> None:
        import dramatiq
        from django.conf import settings

        broker = dramatiq.get_broker()
        if settings.BROKER_KIND == "embedded":
            broker.flush_all()
        elif settings.BROKER_KIND == "redis":
            broker.flush_all()  # deletes the queues' keys on the server
        else:
            broker.flush_all()

    return flush


@pytest.fixture(scope="session", autouse=True)
def _s3_bucket() -> None:
    """With S3 configured, make sure its bucket exists (a fresh S3-compatible server has none)."""
    from django.conf import settings

    if not settings.AWS_STORAGE_BUCKET_NAME:
        return
    import boto3

    options = settings.STORAGES["default"]["OPTIONS"]
    client = boto3.client(
        "s3",
        endpoint_url=options["endpoint_url"],
        aws_access_key_id=options["access_key"],
        aws_secret_access_key=options["secret_key"],
        region_name=options["region_name"],
    )
    existing = {bucket["Name"] for bucket in client.list_buckets().get("Buckets", [])}
    if settings.AWS_STORAGE_BUCKET_NAME not in existing:
        client.create_bucket(Bucket=settings.AWS_STORAGE_BUCKET_NAME)
