"""Telling a client app that its soundtrack is done or failed: a completion webhook event
(portal.clients.webhook_services), so the app need not poll.

Called by the render job once the mix's outcome is committed (portal.mixes.tasks). Best
effort by design: announcing a render must never undo or retry it, so an error here is logged
and the render's own result stands. The event id is fixed by the mix and the outcome, so a
duplicated or retried job announces each outcome once.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from portal.clients.webhook_services import webhook_event_enqueue
from portal.mixes.models import Mix, RenderKind, RenderStatus

logger = logging.getLogger(__name__)
EVENT_TYPES = {RenderStatus.DONE: "soundtrack.done", RenderStatus.FAILED: "soundtrack.failed"}


def soundtrack_event_data(mix: Mix) -> dict[str, Any]:
    """What the event says of the soundtrack: enough to act on, and where to GET the rest (a
    fresh `audio_link` among it: links expire, events may be read late)."""
    return {
        "soundtrack": {
            "id": str(mix.pk),
            "status": mix.status,
            "url": settings.SITE_URL + reverse("api:mixes-soundtrack-detail", args=[mix.pk]),
            "parent_id": str(mix.parent_id) if mix.parent_id else None,
            "family_id": str(mix.family_id or mix.pk),
            "name": mix.name,
            "duration_s": mix.duration_s,
            "audio_sha256": mix.audio_sha256,
            "error": mix.error,
        }
    }


def soundtrack_outcome_announce(*, mix_id: uuid.UUID | str) -> None:
    """Queue the webhook event for a soundtrack that has just finished (done or failed)."""
    try:
        with transaction.atomic():
            mix = Mix.objects.select_related("client_app").filter(pk=mix_id).first()
            if mix is None or mix.kind != RenderKind.SOUNDTRACK or mix.client_app is None:
                return
            event_type = EVENT_TYPES.get(RenderStatus(mix.status))
            if event_type is None:
                return  # still queued for a retry: nothing to announce yet
            webhook_event_enqueue(
                app=mix.client_app,
                event_type=event_type,
                event_id=f"evt_{event_type.replace('.', '_')}_{mix.pk}",
                data=soundtrack_event_data(mix),
            )
    except Exception:
        logger.exception("could not queue the webhook event of mix %s", mix_id)
