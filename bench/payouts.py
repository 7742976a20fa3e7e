"""payout_10k_artists_s: one payout run for 10,000 artists against the Stripe test server.

Set up, not timed: a fresh database (PostgreSQL when one is reachable, else SQLite in a
temporary directory), 10,000 artists with connected accounts created and onboarded on the local
Stripe-compatible server (`python -m stripe_server`, in its own process on 127.0.0.1, as
Stripe would be), one closed period, and each artist's payable balance posted in bulk (one
balanced ledger transaction). Timed: `runs.payout_run(period=...)` - creating 10,000 payouts with their
ledger reservations, 10,000 transfers over HTTP with idempotency keys, settling each in the
ledger. The peer text gives transfers/s, the database and the number of parallel Stripe calls.

`python -m bench payout_10k_artists_s`; BENCH_PAYOUT_ARTISTS changes the count,
BENCH_PAYOUT_CONCURRENCY the parallel calls (default 4), BENCH_PG_URL the PostgreSQL server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench import Figure

FIGURES = ("payout_10k_artists_s",)
ROOT = Path(__file__).resolve().parent.parent
ARTISTS = int(os.environ.get("BENCH_PAYOUT_ARTISTS", "10000"))
CONCURRENCY = int(os.environ.get("BENCH_PAYOUT_CONCURRENCY", "4"))
PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
PERIOD = "2024-01"
API_KEY = "sk_test_bench_payouts"


@contextmanager
def _database() -> Iterator[tuple[str, str]]:
    """(DATABASE_URL, label): a throwaway PostgreSQL database, or SQLite if none is reachable."""
    try:
        import psycopg

        admin = psycopg.connect(PG_URL, autocommit=True, connect_timeout=3)
    except Exception as exc:
        sys.stderr.write(f"bench.payouts: no PostgreSQL at {PG_URL} ({exc}); using SQLite\n")
        with tempfile.TemporaryDirectory(prefix="stemvault-bench-payouts-") as tmp:
            yield f"sqlite:///{tmp}/bench.sqlite3", "SQLite"
        return
    name = f"stemvault_bench_payouts_{os.getpid()}"
    base = PG_URL.rsplit("/", 1)[0]
    with admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            version = admin.info.server_version // 10000
            yield f"{base}/{name}", f"PostgreSQL {version}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(selected: list[str] | None) -> Iterable[Figure]:
    with _database() as (url, label), tempfile.TemporaryDirectory() as var_dir:
        env = {
            **{k: v for k, v in os.environ.items() if k not in {"BROKER_URL", "STRIPE_API_BASE"}},
            "DATABASE_URL": url,
            "VAR_DIR": var_dir,
            "STRIPE_SECRET_KEY": API_KEY,
            "LOG_LEVEL": "WARNING",
        }
        result = subprocess.run(
            [sys.executable, "-m", "bench.payouts", "--probe", str(ARTISTS), str(CONCURRENCY)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
        )
    if result.returncode != 0:
        sys.stderr.write(result.stderr[-3000:])
        raise RuntimeError("bench.payouts probe failed")
    data = json.loads(result.stdout.strip().splitlines()[-1])
    yield Figure(
        name="payout_10k_artists_s",
        value=round(data["seconds"], 2),
        unit=f"s for one run paying {data['paid']} artists",
        target="lower is better",
        peer=(
            f"{data['paid'] / data['seconds']:.0f} transfers/s on {label}, {data['concurrency']} "
            f"parallel Stripe calls to the test server in its own process on 127.0.0.1; "
            f"HTTP floor: {data['floor_rps']:.0f} bare transfers/s from one client thread "
            f"({data['paid'] / data['seconds'] / data['floor_rps']:.2f}x); set-up "
            f"{data['setup_s']:.0f} s not counted"
        ),
    )


# ------------------------------------------------------------------------------ the probe
def _start_server(balance: int) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "stripe_server",
            "--port",
            "0",
            "--api-key",
            API_KEY,
            "--balance",
            f"usd={balance}",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "listening on" not in line:
        proc.kill()
        raise RuntimeError(f"the Stripe test server did not start: {line!r}")
    return proc, line.rsplit(" ", 1)[-1].strip()


def _onboard_accounts(base_url: str, count: int, threads: int = 8) -> list[str]:
    """Create and onboard `count` accounts on the test server (set-up: raw HTTP, in parallel)."""
    from concurrent.futures import ThreadPoolExecutor

    import requests

    def make(indexes: range) -> list[str]:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {API_KEY}"
        ids = []
        for i in indexes:
            response = session.post(
                f"{base_url}/v1/accounts",
                data={
                    "controller[fees][payer]": "application",
                    "controller[losses][payments]": "application",
                    "controller[stripe_dashboard][type]": "express",
                    "capabilities[transfers][requested]": "true",
                    "metadata[artist_index]": str(i),
                },
                timeout=30,
            )
            response.raise_for_status()
            account = response.json()["id"]
            session.post(
                f"{base_url}/_test/accounts/{account}/complete_onboarding", timeout=30
            ).raise_for_status()
            ids.append(account)
        return ids

    step = (count + threads - 1) // threads
    chunks = [range(start, min(count, start + step)) for start in range(0, count, step)]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return [account for ids in pool.map(make, chunks) for account in ids]


def _http_floor(base_url: str, destination: str, rounds: int = 300) -> float:
    """Bare transfers/s one client thread gets from the server (no database, no ledger)."""
    import stripe

    client = stripe.StripeClient(API_KEY, base_addresses={"api": base_url}, max_network_retries=0)
    start = time.perf_counter()
    for i in range(rounds):
        client.v1.transfers.create(
            params={"amount": 1, "currency": "usd", "destination": destination},
            options={"idempotency_key": f"floor-{i}"},
        )
    return rounds / (time.perf_counter() - start)


def _probe(count: int, concurrency: int) -> dict[str, Any]:
    started = time.perf_counter()
    server, base_url = _start_server(balance=count * 10_000_000)
    os.environ["STRIPE_API_BASE"] = base_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    try:
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        settings.PAYOUT_CONCURRENCY = concurrency

        from portal.accounts.models import Role, User
        from portal.payouts.models import ConnectedAccount, Payout, PayoutStatus
        from portal.payouts.services import runs
        from portal.royalties import ledger
        from portal.royalties.services import period_close

        accounts = _onboard_accounts(base_url, count)
        User.objects.bulk_create(
            [User(username=f"bench{i}", role=Role.ARTIST, password="!") for i in range(count)],
            batch_size=2000,
        )
        users = list(User.objects.filter(username__startswith="bench").order_by("pk"))
        ConnectedAccount.objects.bulk_create(
            [
                ConnectedAccount(
                    artist=user,
                    stripe_account_id=account,
                    create_idempotency_key=f"acct-create-{user.pk}",
                    payouts_enabled=True,
                    details_submitted=True,
                    transfers_active=True,
                    on_test_server=True,
                )
                for user, account in zip(users, accounts, strict=True)
            ],
            batch_size=2000,
        )
        period_close(month=PERIOD, pool_minor=0, currency="usd", actor=None)
        amounts = [1_000 + (i * 37) % 5_000 for i in range(count)]
        ledger.ledger_post(
            kind=ledger.KIND_ALLOCATION,
            reference=f"bench:{PERIOD}:payables",
            entries=[(ledger.PLATFORM, None, -sum(amounts))]
            + [(ledger.ARTIST_PAYABLE, u.pk, a) for u, a in zip(users, amounts, strict=True)],
            currency="usd",
            period=PERIOD,
        )
        floor = _http_floor(base_url, accounts[0])
        setup_s = time.perf_counter() - started

        start = time.perf_counter()
        run = runs.payout_run(period=PERIOD)
        seconds = time.perf_counter() - start

        paid = Payout.objects.filter(status=PayoutStatus.PAID).count()
        left: int = sum(
            ledger.balances_by_artist(ledger.TRANSFERS_IN_FLIGHT, currency="usd").values()
        )
        if paid != count or left:
            raise RuntimeError(f"run {run.pk} paid {paid} of {count}: {run.summary}")
        return {
            "seconds": seconds,
            "paid": paid,
            "concurrency": concurrency,
            "floor_rps": floor,
            "setup_s": setup_s,
        }
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__" and sys.argv[1:2] == ["--probe"]:
    print(json.dumps(_probe(int(sys.argv[2]), int(sys.argv[3]))), flush=True)
