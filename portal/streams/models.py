"""The live player: listeners' stream sessions, their controls and feedback, and the segments
rendered for them.

A session's audio is a run of fixed-length segments. Segment i is published (listed in the
playlist, fetchable) from `origin + i x segment length - STREAM_PUBLISH_AHEAD_S` of wall clock,
so any web process can answer for any session from the rows alone. Each segment row
carries the engine's state after it: whichever worker renders the next segment starts from there.
Controls and feedback are an append-only timeline in output frames; a change discards the
segments rendered ahead but not yet delivered (status "discarded") and bumps the session's
generation, so a render that started before the change commits nothing.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q


class SessionStatus(models.TextChoices):
    LIVE = "live", "Live"
    IDLE = "idle", "Ended by the idle timeout"
    ENDED = "ended", "Ended"


class StreamSession(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    app = models.ForeignKey(
        "clients.ClientApp", on_delete=models.PROTECT, related_name="stream_sessions"
    )
    # The app's own pseudonymous listener id: (app, listener_id) is one listener.
    listener_id = models.CharField(max_length=128)
    seed = models.BigIntegerField()
    # The controls the session was opened with, and the ones in force now (the timeline's last).
    initial_controls = models.JSONField()
    controls = models.JSONField()
    status = models.CharField(max_length=8, choices=SessionStatus.choices, default="live")
    # Bumped whenever segments rendered ahead are discarded; renders of an older one are void.
    generation = models.PositiveIntegerField(default=0)
    # The wall-clock origin of the publication schedule (see the module docstring).
    origin = models.DateTimeField()
    # The highest segment index the server delivered (-1: none yet).
    delivered_index = models.IntegerField(default=-1)
    # The furthest playback position a heartbeat confirmed, capped by the elapsed wall time.
    confirmed_s = models.FloatField(default=0.0)
    created_at = models.DateTimeField(auto_now_add=True)
    last_activity_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["app", "status"], name="streams_session_app_status"),
            models.Index(fields=["app", "listener_id"], name="streams_session_listener"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["live", "idle", "ended"]), name="stream_session_status"
            )
        ]

    def __str__(self) -> str:
        return f"stream {self.id}"

    @property
    def is_live(self) -> bool:
        return self.status == SessionStatus.LIVE


class StreamControl(models.Model):
    """A change of mood/intensity/tempo/key. `controls` is the full set in force after it."""

    session = models.ForeignKey(StreamSession, on_delete=models.CASCADE, related_name="changes")
    controls = models.JSONField()
    # The first output frame after what was already delivered, and the bar line it is heard at.
    at_frame = models.BigIntegerField()
    heard_from_frame = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at_frame", "pk"]


class FeedbackEvent(models.TextChoices):
    LIKE = "like", "Like"
    DISLIKE = "dislike", "Dislike"
    SKIP = "skip", "Skip"


class StreamFeedback(models.Model):
    """A like, dislike or skip, with the stems audible at that moment (from the delivered
    segment's manifest): dislikes keep them out of this listener's streams for a while, likes
    raise their weight."""

    session = models.ForeignKey(StreamSession, on_delete=models.CASCADE, related_name="feedback")
    event = models.CharField(max_length=8, choices=FeedbackEvent.choices)
    stems = models.JSONField(default=list)
    at_frame = models.BigIntegerField()
    heard_from_frame = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at_frame", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(event__in=["like", "dislike", "skip"]), name="stream_feedback_event"
            )
        ]


class SegmentStatus(models.TextChoices):
    READY = "ready", "Ready"
    DISCARDED = "discarded", "Discarded (rendered ahead, superseded by a change)"


class StreamSegment(models.Model):
    session = models.ForeignKey(StreamSession, on_delete=models.CASCADE, related_name="segments")
    index = models.PositiveIntegerField()
    generation = models.PositiveIntegerField()
    start_frame = models.BigIntegerField()
    frames = models.PositiveIntegerField()
    state_after = models.JSONField()
    storage_key = models.CharField(max_length=300)
    manifest = models.JSONField(help_text="The signed segment manifest (also in the bytes)")
    stems = models.JSONField(default=list, help_text="Stem ids audible in it")
    status = models.CharField(max_length=10, choices=SegmentStatus.choices, default="ready")
    rendered_at = models.DateTimeField()
    # Counting (see services/counting.py): first delivery, and the heartbeat that confirmed it.
    fetched_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # When the listener heard it on the wall clock, as counted (see counting.confirm_position).
    heard_from = models.DateTimeField(null=True, blank=True)
    heard_until = models.DateTimeField(null=True, blank=True)
    # The paid stretch (a mixes.Mix of kind "stream") its seconds were paid through.
    play_mix = models.ForeignKey(
        "mixes.Mix", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["session", "index"]
        constraints = [
            # Two workers rendering the same segment: only one commits it.
            models.UniqueConstraint(
                fields=["session", "index"],
                condition=Q(status="ready"),
                name="stream_segment_ready_once",
            )
        ]

    def __str__(self) -> str:
        return f"segment {self.index} of {self.session_id}"

    @property
    def end_frame(self) -> int:
        return int(self.start_frame) + int(self.frames)


class StreamListener(models.Model):
    """One listener of one app as the counting sees them, across all their sessions: the row a
    heartbeat locks (after its session's) before counting, so a listener's sessions count one
    at a time, and where their counted listening stands on the wall clock."""

    app = models.ForeignKey("clients.ClientApp", on_delete=models.PROTECT, related_name="+")
    listener_id = models.CharField(max_length=128)
    # The end of the last counted segment's wall-clock interval: one pair of ears hears one
    # stream at a time, so nothing heard before it counts again (services/counting.py).
    heard_until = models.DateTimeField(null=True, blank=True)
    # The daily cap: counted frames on the UTC day `cap_day` (a new day starts from 0).
    cap_day = models.DateField(null=True, blank=True)
    cap_frames = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["app", "listener_id"], name="stream_listener_once")
        ]

    def __str__(self) -> str:
        return f"listener {self.listener_id} of app {self.app_id}"


class StreamStretch(models.Model):
    """A stretch of STREAM_PLAY_SECONDS of a session: paid as one play of its own mix (kind
    "stream"), whose signed manifest concatenates the counted segments' attribution. Opened
    when its first segment is rendered (the mix exists before any of its listening), settled
    once its time has passed or the session ended."""

    session = models.ForeignKey(StreamSession, on_delete=models.CASCADE, related_name="stretches")
    number = models.PositiveIntegerField()
    mix = models.OneToOneField("mixes.Mix", on_delete=models.PROTECT, related_name="+")
    settled_at = models.DateTimeField(null=True, blank=True)
    seconds = models.FloatField(default=0.0)
    play_event_id = models.UUIDField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session", "number"], name="stream_stretch_once")
        ]
