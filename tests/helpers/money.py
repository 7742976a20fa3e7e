"""Money as the tests check it: what a closed month put on each artist's payable account, and
the allocation a stream mix's signed manifest implies, computed here independently of
portal/royalties/allocation.py (a second reading of its documented rule)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any


def artist_payable(month: str) -> dict[int, int]:
    """Minor units per artist id posted to artist payable for `month` (zero amounts left out)."""
    from portal.royalties import ledger
    from portal.royalties.models import LedgerEntry

    amounts: dict[int, int] = defaultdict(int)
    for artist_id, amount in LedgerEntry.objects.filter(
        transaction__period=month, account=ledger.ARTIST_PAYABLE
    ).values_list("artist_id", "amount_minor"):
        amounts[artist_id] += amount
    return {artist: amount for artist, amount in amounts.items() if amount}


def manifest_weights(manifest: dict[str, Any], ms_played: int) -> dict[int, int]:
    """Per artist: sum over seconds t of listened_ms(t) x round(share x 1e6) x split_bps, where
    a play of L ms hears second t for clamp(L - 1000 t, 0, 1000) ms."""
    credits = {
        str(stem["id"]): [(c["artist_id"], c["split_bps"]) for c in stem.get("credits") or []]
        for stem in manifest["stems"]
    }
    weights: dict[int, int] = defaultdict(int)
    for row in manifest["attribution"]["seconds"]:
        heard = min(max(ms_played - 1000 * int(row["t"]), 0), 1000)
        for stem_id, share in row["shares"].items():
            for artist, bps in credits[str(stem_id)]:
                weights[artist] += heard * round(share * 1_000_000) * bps
    return dict(weights)


def largest_remainder(pool_minor: int, weights: dict[int, int]) -> dict[int, int]:
    """The pool split by weight: floors first, then one unit each to the largest remainders
    (ties to the lower artist id)."""
    total = sum(weights.values())
    shares = {a: pool_minor * w // total for a, w in weights.items()}
    left = pool_minor - sum(shares.values())
    by_remainder = sorted(weights, key=lambda a: (-(pool_minor * weights[a] % total), a))
    for artist in by_remainder[:left]:
        shares[artist] += 1
    return {a: v for a, v in shares.items() if v}


def expected_payout(pool_minor: int, plays: Any) -> dict[int, int]:
    """What `plays` (Play rows, every one counting) should pay out of the pool, per artist."""
    weights: dict[int, int] = defaultdict(int)
    for play in plays:
        for artist, weight in manifest_weights(play.mix.manifest, play.ms_played).items():
            weights[artist] += weight
    return largest_remainder(pool_minor, weights)
