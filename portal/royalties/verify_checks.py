"""Checks that other domains add to verify_period, without royalties importing them.

Royalties stands below the domains that report listening through it (the live player counts
stream seconds and ingests them as plays): it must not read their rows, yet a closed month is
only verified when the rows its plays came from still say what was paid. So a domain registers
a check here from its AppConfig.ready(), and period_verify runs every registered check on the
month it verifies. A check reads only its own domain's rows (and royalties' plays, mixes) and
returns what it compared and what differed, in the words of VerifyReport.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class CheckOutcome:
    checked: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)


# A check takes the month ("2024-03") and compares; it never writes.
VerifyCheck = Callable[[str], CheckOutcome]
_CHECKS: dict[str, VerifyCheck] = {}


def verify_check_register(name: str, check: VerifyCheck) -> None:
    """Add (or replace, on a second ready() in one process) the check called `name`."""
    _CHECKS[name] = check


def verify_checks() -> list[tuple[str, VerifyCheck]]:
    """The registered checks, by name, so a report always lists them in the same order."""
    return sorted(_CHECKS.items())
