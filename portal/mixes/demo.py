"""Demo soundtracks: the demo game (portal/clients/demo.py) asks for two through its client
app, rendered inline so `make run` opens on finished mixes whose plays can earn.

Runs after the review seeder approved the demo vault. Idempotent: a request the app already
made is not made again, and one that is still queued is simply rendered now. The mixes are
dated to the start of the previous UTC month, the month the royalties demo plays them in: a
play dated before its mix existed is refused, and the demo has no past to wait for.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils import timezone

from portal.clients.demo import demo_app
from portal.core.errors import ApplicationError
from portal.jobs.services import job_execute
from portal.mixes.models import Mix, RenderStatus
from portal.mixes.selectors import soundtracks_for_user
from portal.mixes.services import soundtrack_request
from portal.mixes.soundtrack_request import soundtrack_request_from

DEMO_REQUESTS: list[dict[str, Any]] = [
    {"duration_s": 45, "mood": "calm", "seed": 1},
    {
        "duration_s": 60,
        "mood": "uplifting",
        "hit_points": [15.0, 40.0],
        "seed": 2,
        "format": "flac",
    },
]


def _previous_month_start() -> datetime:
    this_month = (
        timezone.now().astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    )
    return (this_month - timedelta(days=1)).replace(day=1)


def seed(*, out: Any) -> None:
    app = demo_app()
    if app is None or not app.is_approved:
        out.write("demo soundtracks skipped: the demo client app is missing or not approved")
        return
    developer = app.owner
    existing = list(soundtracks_for_user(user=developer, app=app))
    for data in DEMO_REQUESTS:
        wanted = soundtrack_request_from(data).to_dict()
        mix: Mix | None = next((m for m in existing if m.request == wanted), None)
        if mix is None:
            try:
                mix = soundtrack_request(user=developer, data=data, app=app)
            except ApplicationError as exc:
                out.write(f"demo soundtrack ({data['mood']}) skipped: {exc.message}")
                continue
        if mix.status in (RenderStatus.QUEUED, RenderStatus.RENDERING) and mix.job_id:
            job_execute(mix.job_id)
            mix.refresh_from_db()
        month_start = _previous_month_start()
        if mix.created_at > month_start:
            Mix.objects.filter(pk=mix.pk).update(created_at=month_start)
        if mix.status == RenderStatus.DONE:
            out.write(
                f"demo soundtrack {mix.request['mood']} {mix.duration_s:.0f} s: "
                f"/soundtracks/{mix.pk}/ (audio sha256 {mix.audio_sha256[:12]}…)"
            )
        else:
            out.write(f"demo soundtrack {mix.request['mood']}: {mix.status} {mix.error}".rstrip())
