"""Connected accounts: creating one per artist, the onboarding link, and keeping its state in step
with Stripe (on return from onboarding and from account.updated events)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from portal.audit.services import audit_record
from portal.core.errors import ApplicationError, PermissionDenied
from portal.payouts import stripe_gateway
from portal.payouts.models import ConnectedAccount
from portal.payouts.stripe_gateway import AccountState, StripeFailure


def _site_url(name: str) -> str:
    return f"{settings.SITE_URL}{reverse(name)}"


def _failure(exc: StripeFailure) -> ApplicationError:
    status = 503 if exc.retryable else 502
    return ApplicationError(f"stripe_{exc.code}", exc.message, status=status)


def _account_row(*, artist: Any) -> ConnectedAccount:
    if not getattr(artist, "is_artist", False):
        raise PermissionDenied("not_artist", "Only artists receive payouts.")
    with transaction.atomic():
        account, created = ConnectedAccount.objects.get_or_create(
            artist=artist,
            defaults={
                "create_idempotency_key": f"acct-create-{artist.pk}",
                "on_test_server": bool(settings.STRIPE_API_BASE),
            },
        )
        if created:
            audit_record(
                actor=artist,
                action="payouts.account_requested",
                subject=f"user:{artist.pk}",
                after={"idempotency_key": account.create_idempotency_key},
            )
    return account


# Stripe's clock and ours may differ a little; an account created by our first attempt is
# looked for from this long before our row was saved.
_CLOCK_SKEW = timedelta(hours=1)


def _account_already_made(account: ConnectedAccount) -> AccountState | None:
    """The account Stripe already has for this artist from an earlier attempt whose reply was
    lost: created since our row, with the artist's id in its metadata (what we send), and not
    recorded for anyone else. The oldest, if an earlier retry made a second one."""
    found = stripe_gateway.accounts_with_metadata(
        metadata={"artist_id": str(account.artist_id)},
        created_gte=int((account.created_at - _CLOCK_SKEW).timestamp()),
    )
    taken = set(
        ConnectedAccount.objects.filter(stripe_account_id__in=[state.id for state in found])
        .exclude(pk=account.pk)
        .values_list("stripe_account_id", flat=True)
    )
    return next((state for state in found if state.id not in taken), None)


def _record_created(*, account: ConnectedAccount, artist: Any, state: AccountState) -> None:
    with transaction.atomic():
        account = ConnectedAccount.objects.select_for_update().get(pk=account.pk)
        if not account.stripe_account_id:
            account.stripe_account_id = state.id
            _apply_state(account, state)
            account.full_clean()
            account.save()
            audit_record(
                actor=artist,
                action="payouts.account_created",
                subject=f"user:{artist.pk}",
                after={"stripe_account_id": state.id},
            )


def connected_account_ensure(*, artist: Any) -> ConnectedAccount:
    """The artist's connected account, created on Stripe if it is not there yet.

    The row and its idempotency key commit first; a retry after a timeout gets the same Stripe
    account back. Stripe keeps keys for 24 hours only, so a retry more than
    PAYOUTS_IDEMPOTENCY_SAFE_HOURS after the row was made lists Stripe's accounts first and
    records the one an earlier attempt created, instead of creating a second.
    """
    account = _account_row(artist=artist)
    if account.stripe_account_id:
        return account
    # The row is saved just before the first attempt, so its age is the key's age (or more).
    if stripe_gateway.idempotency_key_may_have_expired(account.created_at):
        try:
            found = _account_already_made(account)
        except StripeFailure as exc:
            raise _failure(exc) from exc
        if found is not None:
            _record_created(account=account, artist=artist, state=found)
            return ConnectedAccount.objects.get(pk=account.pk)
    profile = getattr(artist, "artist_profile", None)
    email = (profile.contact_email if profile else "") or artist.email or ""
    country = profile.country if profile else ""
    try:
        state = stripe_gateway.account_create(
            artist_id=artist.pk,
            email=email,
            country=country,
            idempotency_key=account.create_idempotency_key,
        )
    except StripeFailure as exc:
        raise _failure(exc) from exc
    _record_created(account=account, artist=artist, state=state)
    return ConnectedAccount.objects.get(pk=account.pk)


def connected_account_onboarding_link(*, artist: Any) -> str:
    """A fresh Stripe-hosted onboarding URL (Account Links are single-use and short-lived)."""
    account = connected_account_ensure(artist=artist)
    assert account.stripe_account_id
    try:
        return stripe_gateway.account_link_create(
            account_id=account.stripe_account_id,
            return_url=_site_url("payouts:onboarding_return"),
            refresh_url=_site_url("payouts:onboarding_refresh"),
        )
    except StripeFailure as exc:
        raise _failure(exc) from exc


def _apply_state(account: ConnectedAccount, state: AccountState) -> dict[str, Any]:
    before = {
        "payouts_enabled": account.payouts_enabled,
        "details_submitted": account.details_submitted,
        "requirements_due": account.requirements_due,
    }
    account.payouts_enabled = state.payouts_enabled
    account.details_submitted = state.details_submitted
    account.transfers_active = state.transfers_active
    account.requirements_due = list(state.requirements_due)
    account.disabled_reason = state.disabled_reason[:120]
    return before


def connected_account_sync(*, artist: Any) -> ConnectedAccount | None:
    """Read the account's current state from Stripe (the return view does this, so the artist
    sees the result at once even if the webhook is late). Does not move `last_event_created`:
    that is Stripe's clock, not ours."""
    account = ConnectedAccount.objects.filter(artist=artist).first()
    if account is None or not account.stripe_account_id:
        return account
    try:
        state = stripe_gateway.account_retrieve(account.stripe_account_id)
    except StripeFailure as exc:
        raise _failure(exc) from exc
    with transaction.atomic():
        account = ConnectedAccount.objects.select_for_update().get(pk=account.pk)
        before = _apply_state(account, state)
        account.full_clean()
        account.save()
        audit_record(
            actor=artist,
            action="payouts.account_synced",
            subject=f"user:{artist.pk}",
            before=before,
            after={
                "payouts_enabled": state.payouts_enabled,
                "requirements_due": state.requirements_due,
            },
        )
    return account


@transaction.atomic
def connected_account_apply_event(*, state: AccountState, event_created: int) -> str:
    """Apply an account.updated payload unless a newer event was already applied."""
    account = (
        ConnectedAccount.objects.select_for_update().filter(stripe_account_id=state.id).first()
    )
    if account is None:
        return "ignored: not one of our connected accounts"
    if account.last_event_created is not None and event_created < account.last_event_created:
        return "ignored: older than the state already applied"
    before = _apply_state(account, state)
    account.last_event_created = event_created
    account.full_clean()
    account.save()
    audit_record(
        actor=None,
        action="payouts.account_updated",
        subject=f"user:{account.artist_id}",
        before=before,
        after={
            "payouts_enabled": state.payouts_enabled,
            "requirements_due": state.requirements_due,
        },
    )
    return "applied"
