"""Transfers to connected accounts (``/v1/transfers``) and their reversals."""

from __future__ import annotations

import copy

from ..params import (
    StripeError,
    check_unknown,
    get_bool,
    get_currency,
    get_enum,
    get_int,
    get_str,
    merge_metadata,
    require,
)
from ..store import JSON, PAGINATION, RETRIEVE, RequestContext, Store, diff, new_id

TRANSFER_CREATE = {
    "amount",
    "currency",
    "description",
    "destination",
    "expand",
    "metadata",
    "source_transaction",
    "source_type",
    "transfer_group",
}
TRANSFER_UPDATE = {"description", "expand", "metadata"}
REVERSAL_CREATE = {"amount", "description", "expand", "metadata", "refund_application_fee"}
REVERSAL_UPDATE = {"expand", "metadata"}
TRANSFER_LIST = PAGINATION | {"created", "destination", "transfer_group"}


class Transfers(Store):
    """Transfers move platform balance to a connected account; reversals move it back."""

    def create_transfer(self, ctx: RequestContext, params: JSON) -> JSON:
        check_unknown(params, TRANSFER_CREATE)
        amount = get_int(params, "amount", required=True, minimum=1)
        currency = get_currency(params, "currency", required=True)
        destination = str(require(params, "destination"))
        description = get_str(params, "description")
        transfer_group = get_str(params, "transfer_group")
        source_type = get_enum(
            params, "source_type", ["bank_account", "card", "fpx"], "source_type"
        )
        source_transaction = get_str(params, "source_transaction")
        metadata = merge_metadata({}, params)
        assert amount is not None and currency is not None
        dest = self.accounts.get(destination)
        if dest is None:
            raise StripeError(
                400,
                f"No such destination: '{destination}'",
                code="resource_missing",
                param="destination",
            )
        if source_transaction:
            raise StripeError(
                400,
                f"No such charge: '{source_transaction}'",
                code="resource_missing",
                param="source_transaction",
            )
        if dest["capabilities"].get("transfers") != "active":
            raise StripeError(
                400,
                "Your destination account needs to have at least one of the following "
                "capabilities enabled: transfers, crypto_transfers, legacy_payments",
                code="insufficient_capabilities_for_transfer",
                param="destination",
            )
        if self.balance.get(currency, 0) < amount:
            raise StripeError(
                400,
                "You have insufficient available funds in your Stripe account. Try adding funds "
                "directly to your available balance by creating Charges using the "
                "4000000000000077 test card. See: https://stripe.com/docs/testing#available-balance",
                code="balance_insufficient",
            )
        tr = self.fixtures.new("transfer")
        tr_id = new_id("tr")
        tr.update(
            id=tr_id,
            object="transfer",
            amount=amount,
            amount_reversed=0,
            balance_transaction=new_id("txn"),
            created=self.now(),
            currency=currency,
            description=description,
            destination=destination,
            destination_payment=new_id("py", 14),
            livemode=False,
            metadata=metadata,
            reversed=False,
            source_transaction=None,
            source_type=source_type or "card",
            transfer_group=transfer_group,
        )
        reversals = tr["reversals"] if isinstance(tr.get("reversals"), dict) else {}
        reversals.update(
            object="list", data=[], has_more=False, url=f"/v1/transfers/{tr_id}/reversals"
        )
        if "total_count" in reversals:
            reversals["total_count"] = 0
        tr["reversals"] = reversals
        self.transfers[tr_id] = tr
        self.balance[currency] = self.balance.get(currency, 0) - amount
        dest_balance = self.connected_balances.setdefault(destination, {})
        dest_balance[currency] = dest_balance.get(currency, 0) + amount
        self._emit("transfer.created", tr, ctx)
        return self._out(tr, params)

    def retrieve_transfer(self, ctx: RequestContext, params: JSON, transfer: str) -> JSON:
        check_unknown(params, RETRIEVE)
        return self._out(self._get_transfer(transfer), params)

    def update_transfer(self, ctx: RequestContext, params: JSON, transfer: str) -> JSON:
        tr = self._get_transfer(transfer)
        check_unknown(params, TRANSFER_UPDATE)
        before = copy.deepcopy(tr)
        metadata = merge_metadata(tr.get("metadata") or {}, params)
        if "description" in params:
            tr["description"] = get_str(params, "description") or None
        tr["metadata"] = metadata
        previous = diff(before, tr)
        if previous:
            self._emit("transfer.updated", tr, ctx, previous=previous)
        return self._out(tr, params)

    def list_transfers(self, ctx: RequestContext, params: JSON) -> JSON:
        check_unknown(params, TRANSFER_LIST)
        keep = self._created_filter(params)
        destination = get_str(params, "destination")
        group = get_str(params, "transfer_group")
        items = [
            t
            for t in reversed(self.transfers.values())
            if keep(t)
            and (destination is None or t["destination"] == destination)
            and (group is None or t["transfer_group"] == group)
        ]
        return self._paginate(items, params, "/v1/transfers", "transfer")

    # -------------------------------------------------------------- reversals
    def create_reversal(self, ctx: RequestContext, params: JSON, id: str) -> JSON:
        tr = self._get_transfer(id)
        check_unknown(params, REVERSAL_CREATE)
        remaining = int(tr["amount"]) - int(tr["amount_reversed"])
        amount = get_int(params, "amount", minimum=1)
        metadata = merge_metadata({}, params)
        if "refund_application_fee" in params:
            get_bool(params["refund_application_fee"], "refund_application_fee")
        if remaining <= 0:
            raise StripeError(
                400, f"Transfer {id} has already been fully reversed.", param="amount"
            )
        if amount is None:
            amount = remaining
        if amount > remaining:
            raise StripeError(
                400,
                f"Reversal amount ({amount}) is greater than the amount remaining on the "
                f"transfer ({remaining}).",
                param="amount",
            )
        rev = self.fixtures.new("transfer_reversal")
        rev.update(
            id=new_id("trr"),
            object="transfer_reversal",
            amount=amount,
            balance_transaction=new_id("txn"),
            created=self.now(),
            currency=tr["currency"],
            destination_payment_refund=new_id("pyr", 24),
            metadata=metadata,
            source_refund=None,
            transfer=id,
        )
        self.reversals[rev["id"]] = rev
        before = copy.deepcopy(tr)
        tr["amount_reversed"] = int(tr["amount_reversed"]) + amount
        tr["reversed"] = tr["amount_reversed"] >= tr["amount"]
        embedded = [r for r in reversed(self.reversals.values()) if r["transfer"] == id]
        tr["reversals"]["data"] = copy.deepcopy(embedded[:10])
        tr["reversals"]["has_more"] = len(embedded) > 10
        if "total_count" in tr["reversals"]:
            tr["reversals"]["total_count"] = len(embedded)
        currency = tr["currency"]
        self.balance[currency] = self.balance.get(currency, 0) + amount
        dest_balance = self.connected_balances.setdefault(tr["destination"], {})
        dest_balance[currency] = dest_balance.get(currency, 0) - amount
        self._emit("transfer.reversed", tr, ctx, previous=diff(before, tr))
        return self._out(rev, params)

    def list_reversals(self, ctx: RequestContext, params: JSON, id: str) -> JSON:
        self._get_transfer(id)
        check_unknown(params, PAGINATION)
        items = [r for r in reversed(self.reversals.values()) if r["transfer"] == id]
        return self._paginate(items, params, f"/v1/transfers/{id}/reversals", "transfer_reversal")

    def _get_reversal(self, transfer: str, id: str) -> JSON:
        self._get_transfer(transfer, "transfer")
        rev = self.reversals.get(id)
        if rev is None or rev["transfer"] != transfer:
            raise StripeError(
                404, f"No such transfer reversal: '{id}'", code="resource_missing", param="id"
            )
        return rev

    def retrieve_reversal(self, ctx: RequestContext, params: JSON, transfer: str, id: str) -> JSON:
        check_unknown(params, RETRIEVE)
        return self._out(self._get_reversal(transfer, id), params)

    def update_reversal(self, ctx: RequestContext, params: JSON, transfer: str, id: str) -> JSON:
        rev = self._get_reversal(transfer, id)
        check_unknown(params, REVERSAL_UPDATE)
        rev["metadata"] = merge_metadata(rev.get("metadata") or {}, params)
        return self._out(rev, params)
