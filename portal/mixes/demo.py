"""Demo soundtracks: ada asks for two, rendered inline so `make run` opens on finished mixes.

Runs after the review seeder approved the demo vault. Idempotent: a request ada already made
is not made again, and one that is still queued is simply rendered now.
"""

from __future__ import annotations

from typing import Any

from portal.accounts.models import User
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


def seed(*, out: Any) -> None:
    ada = User.objects.filter(username="ada").first()
    if ada is None:
        out.write("demo soundtracks skipped: the demo user ada does not exist")
        return
    existing = list(soundtracks_for_user(user=ada))
    for data in DEMO_REQUESTS:
        wanted = soundtrack_request_from(data).to_dict()
        mix: Mix | None = next((m for m in existing if m.request == wanted), None)
        if mix is None:
            try:
                mix = soundtrack_request(user=ada, data=data)
            except ApplicationError as exc:
                out.write(f"demo soundtrack ({data['mood']}) skipped: {exc.message}")
                continue
        if mix.status in (RenderStatus.QUEUED, RenderStatus.RENDERING) and mix.job_id:
            job_execute(mix.job_id)
            mix.refresh_from_db()
        if mix.status == RenderStatus.DONE:
            out.write(
                f"demo soundtrack {mix.request['mood']} {mix.duration_s:.0f} s: "
                f"/soundtracks/{mix.pk}/ (audio sha256 {mix.audio_sha256[:12]}…)"
            )
        else:
            out.write(f"demo soundtrack {mix.request['mood']}: {mix.status} {mix.error}".rstrip())
