"""The platform's and connected accounts' balance (``/v1/balance``)."""

from __future__ import annotations

from ..params import check_unknown
from ..store import JSON, RETRIEVE, RequestContext, Store


class Balance(Store):
    """Available balance per currency; transfers and reversals move money between them."""

    def set_balance(self, currency: str, amount: int) -> None:
        with self.lock:
            self.balance[currency.lower()] = int(amount)

    def balance_object(self, account: str | None = None) -> JSON:
        with self.lock:
            amounts = self.balance if account is None else self.connected_balances.get(account, {})
            currencies = sorted(amounts) or ["usd"]
            bal = self.fixtures.new("balance")
            bal.update(
                object="balance",
                livemode=False,
                available=[
                    {
                        "amount": amounts.get(c, 0),
                        "currency": c,
                        "source_types": {"card": amounts.get(c, 0)},
                    }
                    for c in currencies
                ],
                pending=[
                    {"amount": 0, "currency": c, "source_types": {"card": 0}} for c in currencies
                ],
            )
            if "connect_reserved" in bal:
                bal["connect_reserved"] = [{"amount": 0, "currency": c} for c in currencies]
            return bal

    def retrieve_balance(self, ctx: RequestContext, params: JSON) -> JSON:
        check_unknown(params, RETRIEVE)
        if ctx.stripe_account:
            self._get_account(ctx.stripe_account)
        return self._out(self.balance_object(ctx.stripe_account), params)
