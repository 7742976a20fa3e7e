"""Benchmarks: `python -m bench [NAME ...] [--json]`.

Each module listed in MODULES exposes `run() -> Iterable[Figure]`. A figure is reported as a ratio
against a peer or a physical floor measured in the same run wherever one exists.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

MODULES = [
    "bench.jobs",
    "bench.provenance",
    "bench.fingerprint",
    "bench.render",
    "bench.royalties",
    "bench.payouts",
]


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    target: str
    peer: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if data["peer"] is None:
            del data["peer"]
        return data
