"""Writes for payouts, one module per concern: onboarding (connected accounts), webhooks (Stripe
events), transfers (one payout to one artist) and runs (a period's payouts). Callers import from
the module that owns the write.

The rules that keep money safe:

- Every Stripe call carries an idempotency key that was committed to our database *before*
  the call (`ConnectedAccount.create_idempotency_key`, `Payout.idempotency_key`). A retry after a
  crash or a timeout reuses it, so Stripe answers with the original object instead of a second.
- No database transaction is held open across a Stripe call.
- Each ledger posting is idempotent on its reference and balanced, and posted in the same
  transaction as the status change it accounts for: reserve (payable -> in flight) with the row,
  settle (in flight -> paid) with `paid`, release (in flight -> payable) with `failed`, and each
  reversal (paid -> payable) once per Stripe reversal id.
"""
