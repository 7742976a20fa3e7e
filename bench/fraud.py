"""Fraud: a month of simulated traffic from several apps, people and attackers, through the real
ingestion (portal.royalties.services.plays_ingest) and the real close (period_close, whose
period_compute runs the listening rules), on a throwaway SQLite database.

fraud_money_held
    Of what the attackers would have earned with no rules and no ingestion checks (their
    credited share of every attack play of 30 s or more), the share that ingestion refused or
    the close held. Target >= 0.95.
fraud_human_money_held
    Of what genuine listening would have earned the same way, the share wrongly refused or held
    by the listening rules. Target <= 0.005.
fraud_human_money_capped
    The share of genuine earnings over the daily cap (ROYALTIES_MAX_PLAYS_PER_LISTENER_PER_MIX_
    PER_DAY): not an error of the rules but the platform's stated limit on what one listener's
    repeats earn, reported apart so its cost to people (long game sessions looping a theme,
    heavy listeners' favourites) is visible rather than hidden in either figure.

Earnings are compared as attributed listening weight (stem-ns x split, what the pool is divided
by), per play, so a play's worth does not depend on which other plays were held.

The world (seeded, deterministic). Thresholds are the defaults; nothing here reads them.

* People, on four established apps whose previous 28 days are stored as the platform counted
  them (history for volume_spike; inserted directly, not measured):
  - a popular game: 1,000 players, a quarter of them on a given day, one main theme (45 % of what it plays) and four cues
    of 150-200 s played in sequence with a 3 s crossfade for the whole session (sessions
    lognormal, median 30 min; a few play for hours), the last play cut off when they quit;
  - a music player: 300 listeners, a third active on a given day, 1-3 sessions (median
    35 min; 5 % heavy listeners for 4-8 hours), 30 mixes with favourites replayed, a quarter of
    plays skipped in the first 25 s, some at 25-90 s, the rest played whole; 6 s crossfades;
    3 sessions in 1,000 on a second device at the same time (one listener id, overlapping);
  - a video editor: users scrubbing through soundtracks (most previews 3-40 s, a fifth whole);
  - a small indie app, ~50 plays a day.
  Evening peak by hour, weekends x1.3, days' volumes +-15 %.
* Attackers (their stems credited to the attacking artists; sock-puppet apps are owned by
  accounts credited on nothing, so self-play does not catch them):
  - rotating ids: a new radio app posting invented whole-mix plays, each listener id used 1-3
    times, at random moments, ~1,500 a day;
  - looped 30-second plays: 5 bot devices inside the music player looping mixes with the
    attacker's stem for 31-34 s, back to back, about 3 hours a day;
  - backdated batches: 4,000 plays dated 40-60 days back and 1,000 dated before the mixes were
    requested, through the radio app;
  - self-play: an artist's own app playing mixes of their stems, ~300 plays a day;
  - a farm: 60 accounts on a new "focus music" app whose controller starts them all on the
    same mix within 2 s, 30 whole plays each a day.
  - apart (fraud_mimic_money_held, not in the figures above): a "lofi" app inventing 240 plays
    a day shaped like people's, ids rotated. The rules are not meant to see it, and the figure
    says how much of such an attacker they do not see.
"""

from __future__ import annotations

import json
import math
import os
import random
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import Figure, run_probe

FIGURES = (
    "fraud_money_held",
    "fraud_human_money_held",
    "fraud_human_money_capped",
    "fraud_mimic_money_held",
)
ROOT = Path(__file__).resolve().parent.parent
SEED = 13
MONTH = "2026-02"  # the measured month (28 days)
HISTORY = "2026-01"  # the established apps' previous days, as stored
MONTH_START = datetime(2026, 2, 1, tzinfo=UTC)
DAYS = 28
HISTORY_DAYS = 28
POOL = 1_000_000_00
CLOSE_AT = datetime(2026, 4, 8, tzinfo=UTC)  # after February's late window

GAMERS = int(os.environ.get("BENCH_FRAUD_GAMERS", "1000"))  # a quarter play on a given day
LISTENERS = int(os.environ.get("BENCH_FRAUD_LISTENERS", "300"))  # a third listen on a given day

# Hour-of-day weights (UTC, audiences over several time zones): low at night, evening peak.
HOURS = [3, 2, 2, 2, 2, 3, 4, 5, 6, 6, 6, 6, 7, 7, 7, 7, 8, 9, 10, 11, 11, 10, 8, 5]


def run(selected: list[str] | None) -> Iterable[Figure]:
    with tempfile.TemporaryDirectory(prefix="stemvault-bench-fraud-") as tmp:
        env = {
            **{k: v for k, v in os.environ.items() if k != "BROKER_URL"},
            "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
            "VAR_DIR": tmp,
            "LOG_LEVEL": "WARNING",
            "DEBUG": "0",
        }
        data = run_probe(["bench.fraud", "--probe"], env=env, timeout=3600)
    attack = data["attack"]
    human = data["human"]
    by_attack = ", ".join(
        f"{name} {row['held']:.3f} of {row['share_of_would_be']:.1%}"
        for name, row in sorted(attack["by_kind"].items())
    )
    yield Figure(
        name="fraud_money_held",
        value=round(attack["held"], 4),
        unit="share of the attackers' would-be earnings refused or held",
        target=">= 0.95",
        peer=(
            f"{attack['plays']} attack plays; per attack (held, its part of the would-be): "
            f"{by_attack}; refused at ingestion {attack['refused']}; held by rule "
            f"{attack['by_rule']}. Money: attackers would take {attack['pool_share_no_rules']:.1%} "
            f"of the pool with no checks; the attacking artists got {attack['pool_share_real']:.2%} in "
            "the real close, counting people's plays of mallory's real contributions"
        ),
    )
    mimic = data["mimic"]
    yield Figure(
        name="fraud_mimic_money_held",
        value=round(mimic["held"], 4),
        unit="share of a people-shaped attacker's would-be earnings held",
        target="none: what these rules cannot see",
        peer=(
            f"{mimic['plays']} invented plays shaped like people's (skips, whole plays, evening "
            f"peak, ids rotated, 240 a day: under a new app's 5 x 50 allowance); held by rule "
            f"{mimic['by_rule']}. Staff approval of apps is the defence here, not the rules"
        ),
    )
    capped = human["by_rule"].get("daily_cap", 0.0)
    yield Figure(
        name="fraud_human_money_held",
        value=round(human["held"] - capped, 4),
        unit="share of genuine earnings wrongly refused or held by the rules",
        target="<= 0.005",
        peer=(
            f"{human['plays']} genuine plays of 30 s or more on 4 apps; held by rule "
            f"{human['by_rule']} (shares of genuine weight, daily_cap reported apart); "
            f"refused at ingestion {human['refused']}; per app (held incl. the cap): "
            + ", ".join(f"{k} {v['held']:.4f}" for k, v in sorted(human["by_kind"].items()))
            + f"; ingest {data['ingest_s']:.0f} s, close {data['close_s']:.1f} s on SQLite, "
            f"set-up {data['setup_s']:.0f} s"
        ),
    )
    yield Figure(
        name="fraud_human_money_capped",
        value=round(capped, 4),
        unit="share of genuine earnings over the daily cap",
        target="policy (lower is kinder to heavy listeners)",
        peer=(
            f"plays beyond {data['daily_limit']} of one mix by one listener in a UTC day: long "
            "game sessions looping the main theme and heavy listeners' favourites"
        ),
    )


# ------------------------------------------------------------------------------ the world


class World:
    """Artists, stems, apps and their mixes (manifests built here, rows created by setup)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.mixes: list[dict[str, Any]] = []  # {key, app, seconds, stems: [(stem, share)]}
        self.stem_artist: dict[str, str] = {}

    def stems(self, artist: str, count: int) -> list[str]:
        names = [f"{artist}-stem-{len(self.stem_artist) + i}" for i in range(count)]
        for name in names:
            self.stem_artist[name] = artist
        return names

    def mix(self, app: str, stems: list[tuple[str, float]], seconds: int) -> int:
        self.mixes.append({"key": len(self.mixes), "app": app, "seconds": seconds, "stems": stems})
        return len(self.mixes) - 1


def build_world(rng: random.Random) -> tuple[World, dict[str, list[int]]]:
    world = World(rng)
    innocent = [s for a in range(40) for s in world.stems(f"artist{a:02d}", 3)]
    mallory = world.stems("mallory", 2)  # the attacker behind the farm, radio and bots
    oscar = world.stems("oscar", 2)  # the artist playing their own stems through their app
    apps: dict[str, list[int]] = defaultdict(list)

    def innocent_mix(app: str, seconds: int, extra: Sequence[tuple[str, float]] = ()) -> int:
        picked = rng.sample(innocent, 4 - len(extra))
        share = (1.0 - sum(s for _, s in extra)) / len(picked)
        return world.mix(app, [*((s, share) for s in picked), *extra], seconds)

    for _ in range(5):
        apps["game"].append(innocent_mix("game", rng.randint(150, 200)))
    for i in range(30):
        # Three of the player's mixes carry mallory's stem: she is also a real contributor.
        extra = [(mallory[0], 0.25)] if i < 3 else []
        apps["player"].append(innocent_mix("player", rng.randint(120, 240), extra))
    for _ in range(20):
        apps["editor"].append(innocent_mix("editor", rng.randint(60, 180)))
    for _ in range(8):
        apps["indie"].append(innocent_mix("indie", rng.randint(120, 200)))
    for _ in range(4):
        apps["radio"].append(innocent_mix("radio", rng.randint(150, 240), [(mallory[1], 0.5)]))
    for _ in range(3):
        apps["farm"].append(innocent_mix("farm", rng.randint(150, 200), [(mallory[0], 0.5)]))
    for _ in range(2):
        apps["mimic"].append(innocent_mix("mimic", rng.randint(150, 200), [(mallory[1], 0.5)]))
    for _ in range(3):
        apps["self"].append(innocent_mix("self", rng.randint(120, 180), [(oscar[0], 0.5)]))
    return world, apps


# ------------------------------------------------------------------------------ traffic


def _moment(rng: random.Random, day: datetime) -> datetime:
    hour = rng.choices(range(24), weights=HOURS)[0]
    return day + timedelta(hours=hour, seconds=rng.uniform(0, 3600))


def _day_factor(rng: random.Random, day: datetime) -> float:
    weekend = 1.3 if day.weekday() >= 5 else 1.0
    return weekend * rng.uniform(0.85, 1.15)


class Traffic:
    def __init__(self, world: World, rng: random.Random) -> None:
        self.world = world
        self.rng = rng
        self.events: list[dict[str, Any]] = []
        self.kinds: list[str] = []

    def play(self, kind: str, app: str, mix: int, listener: str, at: datetime, ms: int) -> None:
        seconds = self.world.mixes[mix]["seconds"]
        ms = max(0, min(ms, seconds * 1000))
        self.events.append(
            {
                "event_id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
                "mix": mix,
                "app": app,
                "listener_id": listener,
                "started_at": at,
                "ms_played": ms,
            }
        )
        self.kinds.append(kind)

    def sequence(
        self,
        kind: str,
        app: str,
        listener: str,
        start: datetime,
        minutes: float,
        pick: Any,
        listen: Any,
        crossfade_s: float,
    ) -> datetime:
        """One session: plays one after another until the session ends (the last one cut).
        Returns when it ended."""
        end = start + timedelta(minutes=minutes)
        at = start
        while at < end:
            mix = pick()
            full = self.world.mixes[mix]["seconds"] * 1000
            ms = min(listen(full), int((end - at).total_seconds() * 1000))
            self.play(kind, app, mix, listener, at, ms)
            step = ms / 1000 - (crossfade_s if ms >= full else 0) + self.rng.uniform(0.2, 1.5)
            at += timedelta(seconds=max(step, 1.0))
        return at


def _session_starts(rng: random.Random, day: datetime, count: int) -> list[datetime]:
    return sorted(_moment(rng, day) for _ in range(count))


def people(traffic: Traffic, apps: dict[str, list[int]], first: datetime, days: int) -> None:
    rng = traffic.rng
    game, player, editor, indie = apps["game"], apps["player"], apps["editor"], apps["indie"]
    gamer_heavy = {f"g{i}" for i in range(GAMERS) if rng.random() < 0.04}
    heavy = {f"p{i}" for i in range(LISTENERS) if rng.random() < 0.05}
    favourites = {f"p{i}": rng.sample(player, 3) for i in range(LISTENERS)}
    free_at: dict[str, datetime] = {}  # when each person's last session ended
    for d in range(days):
        day = first + timedelta(days=d)
        factor = _day_factor(rng, day)
        # The popular game: the main theme is 45 % of what it plays.
        for i in range(GAMERS):
            listener = f"g{i}"
            if rng.random() > 0.25 * factor:
                continue
            # One person plays one session at a time: a later session starts after the last.
            free = free_at.get(listener, first)
            for start in _session_starts(rng, day, rng.choice((1, 1, 1, 2))):
                minutes = rng.lognormvariate(math.log(30), 0.9)
                if listener in gamer_heavy:
                    minutes = rng.uniform(90, 240)
                free = free_at[listener] = traffic.sequence(
                    "game",
                    "game",
                    listener,
                    max(start, free + timedelta(minutes=rng.uniform(5, 60))),
                    minutes,
                    lambda: game[0] if rng.random() < 0.45 else rng.choice(game[1:]),
                    lambda full: full,
                    3.0,
                )
        # The music player.
        for i in range(LISTENERS):
            listener = f"p{i}"
            if rng.random() > 0.33 * factor:
                continue
            free = free_at.get(listener, first)
            for session_start in _session_starts(rng, day, rng.choice((1, 1, 2, 3))):
                minutes = (
                    rng.uniform(240, 480)
                    if listener in heavy
                    else rng.lognormvariate(math.log(35), 0.8)
                )
                fav = favourites[listener]

                def pick(fav: list[int] = fav) -> int:
                    return rng.choice(fav) if rng.random() < 0.3 else rng.choice(player)

                def listen(full: int) -> int:
                    roll = rng.random()
                    if roll < 0.25:
                        return rng.randint(1_000, 25_000)  # skipped at once
                    if roll < 0.40:
                        return rng.randint(25_000, 90_000)  # gave it a chance
                    return full

                start = max(session_start, free + timedelta(minutes=rng.uniform(5, 60)))
                free = free_at[listener] = traffic.sequence(
                    "player", "player", listener, start, minutes, pick, listen, 6.0
                )
                if rng.random() < 0.003:  # the same account on a second device, at once
                    traffic.sequence(
                        "player",
                        "player",
                        listener,
                        start + timedelta(minutes=rng.uniform(0, 10)),
                        minutes / 2,
                        pick,
                        listen,
                        6.0,
                    )
        # The video editor: scrubbing, some whole previews.
        for i in range(300):
            if rng.random() > 0.2 * factor:
                continue
            at = _moment(rng, day)
            for _ in range(rng.randint(5, 20)):
                mix = rng.choice(editor)
                full = traffic.world.mixes[mix]["seconds"] * 1000
                ms = full if rng.random() < 0.2 else rng.randint(3_000, 40_000)
                traffic.play("editor", "editor", mix, f"e{i}", at, ms)
                at += timedelta(seconds=ms / 1000 + rng.uniform(2, 30))
        # The small indie app (a person's next play starts after their last one ended).
        for _ in range(int(50 * factor)):
            mix = rng.choice(indie)
            full = traffic.world.mixes[mix]["seconds"] * 1000
            ms = full if rng.random() < 0.6 else rng.randint(2_000, full)
            listener = f"i{rng.randint(0, 40)}"
            at = max(_moment(rng, day), free_at.get(listener, first) + timedelta(seconds=2))
            traffic.play("indie", "indie", mix, listener, at, ms)
            free_at[listener] = at + timedelta(milliseconds=ms)


def attackers(traffic: Traffic, apps: dict[str, list[int]], first: datetime, days: int) -> None:
    rng = traffic.rng
    mixes = traffic.world.mixes
    for d in range(days):
        day = first + timedelta(days=d)
        # Rotating listener ids: invented whole plays, each id used 1-3 times.
        made = 0
        while made < 1500:
            listener = f"r-{uuid.UUID(int=rng.getrandbits(128)).hex[:12]}"
            for _ in range(rng.randint(1, 3)):
                mix = rng.choice(apps["radio"])
                at = day + timedelta(seconds=rng.uniform(0, 86_400))
                traffic.play(
                    "rotating_ids", "radio", mix, listener, at, mixes[mix]["seconds"] * 1000
                )
                made += 1
        # Looped 30-second plays: bots inside the music player, ~3 hours a day.
        for bot in range(5):
            at = day + timedelta(hours=rng.uniform(0, 20))
            for _ in range(int(3 * 3600 / 33)):
                ms = rng.randint(31_000, 34_000)
                traffic.play(
                    "looped_30s", "player", rng.choice(apps["player"][:3]), f"p-bot{bot}", at, ms
                )
                at += timedelta(seconds=ms / 1000 + rng.uniform(0.3, 1.0))
        # Self-play: oscar's own app.
        for _ in range(300):
            mix = rng.choice(apps["self"])
            listener = f"s{rng.randint(0, 500)}"
            traffic.play(
                "self_play", "self", mix, listener, _moment(rng, day), mixes[mix]["seconds"] * 1000
            )
        # The mimic (reported apart): invented plays shaped like people's, rotating ids, kept
        # under a new app's volume allowance. Nothing in these rules can tell them from people.
        for _ in range(240):
            listener = f"m-{rng.getrandbits(40):010x}"
            mix = rng.choice(apps["mimic"])
            full = mixes[mix]["seconds"] * 1000
            roll = rng.random()
            ms = (
                rng.randint(1_000, 25_000)
                if roll < 0.25
                else rng.randint(25_000, 90_000)
                if roll < 0.4
                else full
            )
            traffic.play("mimic", "mimic", mix, listener, _moment(rng, day), ms)
        # The farm: 60 accounts started together, 30 whole plays each a day.
        at = day + timedelta(hours=rng.uniform(0, 2))
        for _ in range(30):
            mix = rng.choice(apps["farm"])
            for account in range(60):
                traffic.play(
                    "farm",
                    "farm",
                    mix,
                    f"focus-{account}",
                    at + timedelta(seconds=rng.uniform(0, 2)),
                    mixes[mix]["seconds"] * 1000,
                )
            at += timedelta(seconds=mixes[mix]["seconds"] + rng.uniform(3, 30))


def backdated(traffic: Traffic, apps: dict[str, list[int]], requested: datetime) -> list[int]:
    """Plays reported on day 20 of the month but dated 40-60 days back, or before the radio's
    mixes were requested; returns their indices."""
    rng = traffic.rng
    mixes = traffic.world.mixes
    start = len(traffic.events)
    for i in range(5000):
        mix = rng.choice(apps["radio"])
        if i < 4000:
            at = MONTH_START + timedelta(days=20) - timedelta(days=rng.uniform(40, 60))
        else:
            at = requested - timedelta(days=rng.uniform(0.5, 8))
        traffic.play("backdated", "radio", mix, f"old-{i}", at, mixes[mix]["seconds"] * 1000)
    return list(range(start, len(traffic.events)))


# ------------------------------------------------------------------------------ the probe


class _Clock:
    def __init__(self) -> None:
        from django.utils import timezone

        self.now = MONTH_START
        # Every service and auto_now field reads the clock here: the month is replayed in
        # its own time (reports the morning after, the close after the late window).
        timezone.now = lambda: self.now


def _setup(world: World, clock: _Clock) -> tuple[dict[str, Any], dict[int, Any], dict[str, int]]:
    from bench._rows import approved_stem, license_for_bench
    from portal.accounts.services import user_create
    from portal.clients.services import app_decide, app_register
    from portal.mixes.models import Mix, RenderKind, RenderStatus
    from portal.stems.models import Submission

    staff = user_create(username="bench-staff", role="staff", password=None)
    artists: dict[str, Any] = {}
    for artist in sorted(set(world.stem_artist.values())):
        artists[artist] = user_create(username=artist, role="artist", password=None)
    license_template = license_for_bench()
    stem_rows: dict[str, Any] = {}
    for i, (name, artist) in enumerate(sorted(world.stem_artist.items())):
        submission = Submission.objects.create(artist=artists[artist], license=license_template)
        stem_rows[name] = approved_stem(
            submission=submission, artist=artists[artist], title=name, index=i
        )
    owners = {
        "game": "studio-a",
        "player": "player-co",
        "editor": "cutter",
        "indie": "indie-dev",
        "radio": "sock-radio",
        "farm": "sock-focus",
        "mimic": "sock-lofi",
        "self": "oscar",
    }
    apps: dict[str, Any] = {}
    for app, owner in owners.items():
        user = artists.get(owner) or user_create(username=owner, role="artist", password=None)
        apps[app] = app_register(owner=user, name=f"{app} app")
        app_decide(app_id=apps[app].pk, actor=staff, status="approved")
    mix_rows: dict[int, Any] = {}
    for mix in world.mixes:
        stems = [(stem_rows[name], share) for name, share in mix["stems"]]
        manifest = {
            "stems": [
                {
                    "id": str(stem.pk),
                    "credits": [{"artist_id": stem.artist_id, "split_bps": 10_000}],
                }
                for stem, _ in stems
            ],
            "attribution": {
                "resolution_s": 1,
                "seconds": [
                    {"t": t, "shares": {str(stem.pk): round(share, 6) for stem, share in stems}}
                    for t in range(mix["seconds"])
                ],
            },
        }
        row = Mix.objects.create(
            kind=RenderKind.SOUNDTRACK,
            status=RenderStatus.DONE,
            duration_ms=mix["seconds"] * 1000,
            duration_s=float(mix["seconds"]),
            manifest=manifest,
            client_app=apps[mix["app"]],
        )
        # Established apps' mixes exist from before the history; the attackers' new apps
        # request theirs on the first day of the month.
        created = (
            MONTH_START - timedelta(days=HISTORY_DAYS + 30)
            if mix["app"] in ("game", "player", "editor", "indie")
            else MONTH_START
        )
        Mix.objects.filter(pk=row.pk).update(created_at=created)
        mix_rows[mix["key"]] = row
    return apps, mix_rows, {name: artists[name].pk for name in artists}


def _store_history(
    events: list[dict[str, Any]], apps: dict[str, Any], mix_rows: dict[int, Any]
) -> None:
    """The established apps' previous days, as the platform stored and counted them."""
    from portal.royalties.models import Period, Play, PlayReason

    rows = []
    for e in events:
        duration = mix_rows[e["mix"]].duration_ms
        counts = e["ms_played"] >= min(duration, 30_000)
        rows.append(
            Play(
                event_id=e["event_id"],
                mix=mix_rows[e["mix"]],
                app=apps[e["app"]],
                listener_id=e["listener_id"],
                started_at=e["started_at"],
                ms_played=e["ms_played"],
                accounting_period=HISTORY,
                qualifies=counts,
                reason="" if counts else PlayReason.TOO_SHORT,
                received_at=e["started_at"] + timedelta(hours=6),
            )
        )
    Play.objects.bulk_create(rows, batch_size=2000)
    Period.objects.create(
        month=HISTORY, currency="usd", pool_minor=0, closed_at=MONTH_START + timedelta(days=1)
    )


def _weights(
    compiled: list[Any], plays: list[int], traffic: Traffic, artists: set[int] | None
) -> int:
    import numpy as np

    from portal.royalties.allocation import allocate

    if not plays:
        return 0
    mix = np.fromiter((traffic.events[i]["mix"] for i in plays), dtype=np.int64, count=len(plays))
    ms = np.fromiter(
        (traffic.events[i]["ms_played"] for i in plays), dtype=np.int64, count=len(plays)
    )
    weights = allocate(compiled, mix, ms, 0).artist_weights
    return sum(w for a, w in weights.items() if artists is None or a in artists)


def _probe() -> dict[str, Any]:
    started = time.perf_counter()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    clock = _Clock()
    from portal.royalties import ledger
    from portal.royalties.computation import daily_limit
    from portal.royalties.manifests import compile_manifest
    from portal.royalties.models import Play
    from portal.royalties.services import period_close, plays_ingest

    rng = random.Random(SEED)
    world, app_mixes = build_world(rng)
    apps, mix_rows, artist_ids = _setup(world, clock)
    history = Traffic(world, rng)
    people(history, app_mixes, MONTH_START - timedelta(days=HISTORY_DAYS), HISTORY_DAYS)
    _store_history(history.events, apps, mix_rows)
    traffic = Traffic(world, rng)
    people(traffic, app_mixes, MONTH_START, DAYS)
    attackers(traffic, app_mixes, MONTH_START, DAYS)
    late = set(backdated(traffic, app_mixes, MONTH_START))
    setup_s = time.perf_counter() - started

    # Each app reports a day's plays at 03:00 the next day, in batches of 500 (the backdated
    # batch arrives on day 20).
    by_day: dict[int, list[int]] = defaultdict(list)
    for i, e in enumerate(traffic.events):
        day = 20 if i in late else (e["started_at"] - MONTH_START).days + 1
        by_day[day].append(i)
    refused: dict[int, str] = {}
    t0 = time.perf_counter()
    for day in sorted(by_day):
        clock.now = MONTH_START + timedelta(days=day, hours=3)
        per_app: dict[str, list[int]] = defaultdict(list)
        for i in by_day[day]:
            per_app[traffic.events[i]["app"]].append(i)
        for app, indices in sorted(per_app.items()):
            for begin in range(0, len(indices), 500):
                chunk = indices[begin : begin + 500]
                events = [
                    {
                        "event_id": traffic.events[i]["event_id"],
                        "mix_id": str(mix_rows[traffic.events[i]["mix"]].pk),
                        "listener_id": traffic.events[i]["listener_id"],
                        "started_at": traffic.events[i]["started_at"].isoformat(),
                        "ms_played": traffic.events[i]["ms_played"],
                    }
                    for i in chunk
                ]
                result = plays_ingest(events=events, app=apps[app])
                for rejection in result.rejected:
                    refused[chunk[rejection.index]] = rejection.code
    ingest_s = time.perf_counter() - t0
    clock.now = CLOSE_AT
    t0 = time.perf_counter()
    period = period_close(month=MONTH, pool_minor=POOL, currency="usd", actor=None)
    close_s = time.perf_counter() - t0
    marks = {
        str(e): (q, r, h)
        for e, q, r, h in Play.objects.filter(accounting_period=MONTH).values_list(
            "event_id", "qualifies", "reason", "held_by"
        )
    }

    compiled = [
        compile_manifest(str(m), mix_rows[m].manifest, mix_rows[m].duration_ms)
        for m in range(len(world.mixes))
    ]
    attackers_ids = {artist_ids["mallory"], artist_ids["oscar"]}

    month_end = MONTH_START + timedelta(days=DAYS)

    def qualifying(i: int) -> bool:
        """A play of the measured month (a session past midnight of its last day counts in
        March) long enough to earn anything."""
        e = traffic.events[i]
        if e["started_at"] >= month_end:
            return False
        return bool(e["ms_played"] >= min(world.mixes[e["mix"]]["seconds"] * 1000, 30_000))

    def outcome(i: int) -> str:
        if i in refused:
            return f"refused:{refused[i]}"
        qualifies, reason, held_by = marks[traffic.events[i]["event_id"]]
        return "counted" if qualifies else (held_by or reason)

    def summary(kinds: set[str], artists: set[int] | None) -> dict[str, Any]:
        plays = [i for i, k in enumerate(traffic.kinds) if k in kinds and qualifying(i)]
        total = _weights(compiled, plays, traffic, artists)
        groups: dict[str, list[int]] = defaultdict(list)
        for i in plays:
            groups[outcome(i)].append(i)
        shares = {
            name: _weights(compiled, members, traffic, artists) / total
            for name, members in sorted(groups.items())
        }
        by_kind = {}
        for kind in sorted(kinds):
            own = [i for i in plays if traffic.kinds[i] == kind]
            weight = _weights(compiled, own, traffic, artists)
            kept = _weights(compiled, [i for i in own if outcome(i) == "counted"], traffic, artists)
            by_kind[kind] = {
                "held": 1 - kept / weight if weight else 0.0,
                "share_of_would_be": weight / total if total else 0.0,
            }
        return {
            "plays": len(plays),
            "held": 1 - shares.get("counted", 0.0),
            "by_rule": {
                k: round(v, 5)
                for k, v in shares.items()
                if k != "counted" and not k.startswith("refused")
            },
            "refused": {k: round(v, 4) for k, v in shares.items() if k.startswith("refused")},
            "by_kind": by_kind,
        }

    attack_kinds = {"rotating_ids", "looped_30s", "backdated", "self_play", "farm"}
    human_kinds = {"game", "player", "editor", "indie"}
    attack = summary(attack_kinds, attackers_ids)
    mimic = summary({"mimic"}, attackers_ids)
    human = summary(human_kinds, None)
    everything = [i for i in range(len(traffic.events)) if qualifying(i)]
    total_all = _weights(compiled, everything, traffic, None)
    attack["pool_share_no_rules"] = (
        _weights(compiled, everything, traffic, attackers_ids) / total_all
    )
    taken = sum(
        ledger.balance(ledger.ARTIST_PAYABLE, artist, currency="usd") for artist in attackers_ids
    )
    attack["pool_share_real"] = taken / POOL
    return {
        "attack": attack,
        "mimic": mimic,
        "human": human,
        "plays_held": period.plays_held,
        "daily_limit": daily_limit(),
        "ingest_s": ingest_s,
        "close_s": close_s,
        "setup_s": setup_s,
    }


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    if sys.argv[1:] == ["--probe"]:
        print(json.dumps(_probe()))
    else:
        raise SystemExit("usage: python -m bench.fraud --probe")
