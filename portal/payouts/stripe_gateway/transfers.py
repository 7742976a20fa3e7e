"""Transfers to connected accounts, and their reversals."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from stripe.params import (
    TransferCreateParams,
    TransferListParams,
    TransferReversalCreateParams,
    TransferReversalListParams,
)

from portal.payouts.stripe_gateway.client import client, value_of
from portal.payouts.stripe_gateway.errors import translated


@dataclass(frozen=True)
class ReversalInfo:
    id: str
    amount: int
    currency: str
    transfer: str


@dataclass(frozen=True)
class TransferInfo:
    id: str
    amount: int
    currency: str
    destination: str
    transfer_group: str
    amount_reversed: int
    reversed: bool
    created: int
    metadata: dict[str, str]
    reversals: list[ReversalInfo]
    reversals_complete: bool  # False: the embedded list is a first page only


def _reversal_info(obj: Mapping[str, Any]) -> ReversalInfo:
    return ReversalInfo(
        id=str(obj["id"]),
        amount=int(obj["amount"]),
        currency=str(obj["currency"]),
        transfer=str(value_of(obj, "transfer", "")),
    )


def transfer_info(obj: Mapping[str, Any]) -> TransferInfo:
    """From a Transfer object (API response or a webhook's data.object)."""
    destination = value_of(obj, "destination", "")
    if isinstance(destination, Mapping):  # expanded
        destination = destination.get("id", "")
    reversals = value_of(obj, "reversals", {})
    return TransferInfo(
        id=str(obj["id"]),
        amount=int(obj["amount"]),
        currency=str(obj["currency"]),
        destination=str(destination),
        transfer_group=str(value_of(obj, "transfer_group", "")),
        amount_reversed=int(value_of(obj, "amount_reversed", 0)),
        reversed=bool(value_of(obj, "reversed", False)),
        created=int(value_of(obj, "created", 0)),
        metadata={str(k): str(v) for k, v in dict(value_of(obj, "metadata", {})).items()},
        reversals=[_reversal_info(r) for r in value_of(reversals, "data", [])],
        reversals_complete=not bool(value_of(reversals, "has_more", False)),
    )


def transfer_create(
    *,
    amount_minor: int,
    currency: str,
    destination: str,
    transfer_group: str,
    metadata: dict[str, str],
    idempotency_key: str,
) -> TransferInfo:
    params: TransferCreateParams = {
        "amount": amount_minor,
        "currency": currency,
        "destination": destination,
        "transfer_group": transfer_group,
        "metadata": metadata,
    }
    with translated():
        transfer = client().v1.transfers.create(
            params=params, options={"idempotency_key": idempotency_key}
        )
    return transfer_info(transfer)


def transfer_retrieve(transfer_id: str) -> TransferInfo:
    with translated():
        transfer = client().v1.transfers.retrieve(transfer_id)
    return transfer_info(transfer)


def transfer_list(
    *, transfer_group: str | None = None, destination: str | None = None
) -> Iterator[TransferInfo]:
    """Every transfer (newest first), following Stripe's pagination."""
    params: TransferListParams = {"limit": 100}
    if transfer_group:
        params["transfer_group"] = transfer_group
    if destination:
        params["destination"] = destination
    with translated():
        page = client().v1.transfers.list(params=params)
        # Later pages are fetched lazily, inside this block, so their errors translate too.
        for item in page.auto_paging_iter():
            yield transfer_info(item)


def transfers_naming(
    *, transfer_group: str, destination: str, metadata: Mapping[str, str]
) -> list[TransferInfo]:
    """The transfers in `transfer_group` to `destination` whose metadata holds every item of
    `metadata`, oldest first: what Stripe already has for one of our writes."""
    found = [
        transfer
        for transfer in transfer_list(transfer_group=transfer_group, destination=destination)
        if all(transfer.metadata.get(k) == v for k, v in metadata.items())
    ]
    return sorted(reversed(found), key=lambda transfer: transfer.created)


def transfer_reversals(transfer: TransferInfo) -> list[ReversalInfo]:
    """All reversals of a transfer (the embedded list on a transfer holds only the first page)."""
    if transfer.reversals_complete:
        return list(transfer.reversals)
    params: TransferReversalListParams = {"limit": 100}
    with translated():
        page = client().v1.transfers.reversals.list(transfer.id, params=params)
        return [_reversal_info(item) for item in page.auto_paging_iter()]


def transfer_reversal_create(
    *, transfer_id: str, amount_minor: int | None = None, idempotency_key: str
) -> ReversalInfo:
    params: TransferReversalCreateParams = {}
    if amount_minor is not None:
        params["amount"] = amount_minor
    with translated():
        reversal = client().v1.transfers.reversals.create(
            transfer_id, params=params, options={"idempotency_key": idempotency_key}
        )
    return _reversal_info(reversal)
