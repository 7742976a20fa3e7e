"""House style: a module that grows past ~400 lines is split by what its parts are (the mixes'
render pipeline apart from its requests, the Stripe gateway by resource, the royalties' writes
by ingestion and close, ...). Every domain of the portal is held to it, new ones too."""

from __future__ import annotations

from pathlib import Path

import pytest

PORTAL = Path(__file__).resolve().parents[2] / "portal"
MAX_LINES = 400
DOMAINS = sorted(p.parent.name for p in PORTAL.glob("*/__init__.py"))


def test_the_domains_are_found() -> None:
    # A glob that found nothing would make every size check below pass vacuously.
    assert {"jobs", "mixes", "payouts", "review", "royalties", "stems"} <= set(DOMAINS)


@pytest.mark.parametrize("domain", DOMAINS)
def test_no_module_of_the_domain_is_longer_than_400_lines(domain: str) -> None:
    too_long = {
        str(path.relative_to(PORTAL)): lines
        for path in sorted((PORTAL / domain).rglob("*.py"))
        if "migrations" not in path.parts
        and (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert too_long == {}
