"""Plays, monthly periods and their allocation, and the double-entry ledger.

Money lives only in the ledger (LedgerTransaction + LedgerEntry): append-only, integer minor
units with a currency, every transaction summing to zero. A balance is a SUM over entries, never
a column. AllocationLine/AllocationDetail are the statement's explanation of the allocation
transaction, written in the same database transaction as it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class PlayReason(models.TextChoices):
    COUNTED = "", "Counted"
    TOO_SHORT = "too_short", "Shorter than 30 s (or the whole mix)"
    OVER_DAILY_LIMIT = "over_daily_limit", "Over the daily limit for this listener and mix"
    SELF_PLAY = "self_play", "Played through an app owned by an artist credited in the mix"
    HELD = "held", "Held by a listening rule (see held_by)"


class Play(models.Model):
    """One reported play. Kept whether or not it qualifies; never counted twice (event_id)."""

    # The event id is the primary key: one unique index serves both identity and "never twice".
    # Plays are the hottest insert in the portal, so every index here is deliberate: the pk,
    # (accounting_period, mix) for the close and statements, (listener, mix, started_at) for the
    # daily limit of late events. The foreign keys get no index of their own.
    event_id = models.UUIDField(primary_key=True)
    mix = models.ForeignKey(
        "mixes.Mix", on_delete=models.PROTECT, related_name="plays", db_index=False
    )
    # The client app that reported it. Listener ids are the app's own: (app, listener_id) is
    # one listener, so two apps' "user-1" are two people. Null only for plays stored before
    # client apps existed.
    app = models.ForeignKey(
        "clients.ClientApp",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    listener_id = models.CharField(max_length=128, help_text="Pseudonymous, from the app")
    started_at = models.DateTimeField()
    ms_played = models.PositiveIntegerField()
    client = models.CharField(max_length=64, blank=True)
    # Assigned at ingestion: the month of started_at, or, when that month is already closed,
    # the earliest open month after it (late events count in the next period, see periods.py).
    accounting_period = models.CharField(max_length=7)
    # By duration at ingestion; the daily limit is applied when the period closes (see
    # services.period_close) and then recorded here too.
    qualifies = models.BooleanField()
    reason = models.CharField(max_length=20, choices=PlayReason.choices, blank=True)
    # The listening rule that held it (see royalties/rules/), set when the period closes;
    # empty for plays no rule held. A held play is kept, never counted unless staff release it.
    # A database default: ingestion inserts plays with raw SQL that does not name this column.
    held_by = models.CharField(max_length=32, blank=True, db_default="")
    # The account that reported it, on plays stored before client apps existed (ingestion now
    # records the app and leaves this empty); informational, so no database constraint or
    # index to pay for on every insert.
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    received_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["accounting_period", "mix"], name="royalties_play_period_mix"),
            models.Index(
                fields=["app", "listener_id", "started_at"], name="royalties_play_listener"
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(ms_played__gte=0), name="play_ms_not_negative")
        ]

    def __str__(self) -> str:
        return f"play {self.event_id}"


class Period(models.Model):
    """A closed month. The row exists only once the month is closed: unique, so never twice."""

    month = models.CharField(max_length=7, unique=True, help_text="YYYY-MM, UTC")
    currency = models.CharField(max_length=3)
    pool_minor = models.BigIntegerField()
    plays_counted = models.PositiveIntegerField(default=0)
    plays_too_short = models.PositiveIntegerField(default=0)
    plays_over_limit = models.PositiveIntegerField(default=0)
    plays_held = models.PositiveIntegerField(default=0)
    plays_self = models.PositiveIntegerField(default=0)
    # Exact integers (stem-ns x basis points) can pass 64 bits: kept as decimal text.
    total_weight = models.CharField(max_length=60, default="0")
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField()

    class Meta:
        ordering = ["-month"]
        constraints = [
            models.CheckConstraint(condition=Q(pool_minor__gte=0), name="period_pool_not_negative")
        ]

    def __str__(self) -> str:
        return self.month


class PlayRelease(models.Model):
    """Staff's decision that a held play is genuine listening after all. Append-only; read by
    the period close and by verify_period as an input, like the plays themselves."""

    play = models.OneToOneField(Play, on_delete=models.PROTECT, related_name="release")
    rule = models.CharField(max_length=32, help_text="The rule that held it when released")
    reason = models.TextField()
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    released_at = models.DateTimeField(auto_now_add=True)


class AllocationLine(models.Model):
    """A statement line: what one artist earned from one stem in one period."""

    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="lines")
    artist = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    stem = models.ForeignKey("stems.Stem", on_delete=models.PROTECT, related_name="+")
    plays = models.PositiveIntegerField()
    weight = models.CharField(max_length=60, help_text="stem-ns x split_bps, exact")
    attributed_ms = models.BigIntegerField(help_text="The weight as ms of listening, floored")
    amount_minor = models.BigIntegerField()

    class Meta:
        ordering = ["period", "artist", "stem"]
        constraints = [
            models.UniqueConstraint(
                fields=["period", "artist", "stem"], name="allocation_line_once"
            ),
            models.CheckConstraint(
                condition=Q(amount_minor__gte=0), name="allocation_line_not_negative"
            ),
        ]


class AllocationDetail(models.Model):
    """Behind a line: the artist's credit on the stem in one mix, as the manifest says."""

    line = models.ForeignKey(AllocationLine, on_delete=models.PROTECT, related_name="details")
    mix = models.ForeignKey("mixes.Mix", on_delete=models.PROTECT, related_name="+")
    plays = models.PositiveIntegerField()
    weight = models.CharField(max_length=60)
    attributed_ms = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["line", "mix"], name="allocation_detail_once")
        ]


class LedgerTransaction(models.Model):
    """One balanced movement of money. `reference` makes posting idempotent."""

    kind = models.CharField(max_length=40)
    period = models.CharField(max_length=7, blank=True, db_index=True)
    reference = models.CharField(max_length=200, unique=True)
    memo = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.kind} {self.reference}"


class LedgerEntry(models.Model):
    """One leg of a transaction.

    Sign convention: a positive amount adds to the account's balance, a negative one takes
    from it, and a transaction's entries sum to zero per currency. So `artist_payable` of an
    artist is positive while the platform owes them, and `platform` goes negative by what it
    funded.
    """

    transaction = models.ForeignKey(
        LedgerTransaction, on_delete=models.PROTECT, related_name="entries"
    )
    account = models.CharField(max_length=40)
    artist = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)

    class Meta:
        indexes = [models.Index(fields=["account", "currency", "artist"], name="ledger_balance")]
        constraints = [
            models.CheckConstraint(condition=~Q(amount_minor=0), name="ledger_entry_not_zero")
        ]
