"""What the deliveries beside the master cost: the MP3 and the stems of a 180 s soundtrack.

- mp3_rtf_180s: real-time factor of making a credentialed MP3 from a mastered 180 s render
  (renderer.mp3 encode, CBR 320 kbps, then its C2PA Content Credentials naming the master as
  parent, with the signed delivery statement: renderer.delivery), on one CPU. The
  peer text gives the seconds.
- stems_extra_s_180s: the seconds a request for stems adds to a 180 s render of the eight
  corpus stems (synthesised ones when the shared corpus is absent), each in its own role
  group: the extra mixes (`render(..., buses=...)` minus `render(...)`, medians), then the
  float WAVs, their Content Credentials and the signed zip (renderer.stem_package) written to
  a temporary file. Both on all the process's CPUs, as a render worker runs.

Timings on a shared machine are noisy: medians of RUNS runs.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import Figure, cpu_seconds, one_cpu
from bench.render import DURATION_S, _memory_backed_dir, _plan, _stem_files
from renderer.buses import ROLE_GROUPS
from renderer.credential_chain import development_chain
from renderer.credentials import CredentialsSigner, sign_credentials
from renderer.delivery import MasterFile, sign_delivery
from renderer.engine import render
from renderer.manifest import build_manifest, embed_manifest
from renderer.mp3 import encode_mp3
from renderer.signing import generate_keypair, sign_manifest
from renderer.stem_package import stem_files, write_stems_zip
from renderer.stems import StemCache

FIGURES = ("mp3_rtf_180s", "stems_extra_s_180s")
RUNS = 3


def _median(action: Callable[[], Any], cpu: list[float] | None = None) -> float:
    """Median wall seconds of RUNS runs; the median CPU seconds appended to `cpu` if given."""
    times, cpus = [], []
    for _ in range(RUNS):
        start, used = time.perf_counter(), cpu_seconds()
        action()
        times.append(time.perf_counter() - start)
        cpus.append(cpu_seconds() - used)
    if cpu is not None:
        cpu.append(statistics.median(cpus))
    return statistics.median(times)


def run(selected: list[str] | None = None) -> Iterable[Figure]:
    wanted = {n for n in FIGURES if not selected or any(n.startswith(s) for s in selected)}
    chain = development_chain(datetime.now(UTC))
    signer = CredentialsSigner(chain.signer_chain_pem, chain.signer_key_pem)
    private, _ = generate_keypair()
    with tempfile.TemporaryDirectory(dir=_memory_backed_dir()) as tmp:
        paths = _stem_files(Path(tmp))
        plan = _plan(paths)
        cache = StemCache()
        groups = dict(zip([p.stem for p in paths], [*ROLE_GROUPS, "other"] * 2, strict=False))
        result = render(plan, cache=cache, buses=groups)
        manifest = sign_manifest(
            build_manifest(plan, result, render_id="bench", stems_meta={}), private
        )
        # The credentialed master every extra names as its parent ingredient.
        master = MasterFile(
            sign_credentials(
                embed_manifest(result.audio, result.format, manifest),
                result.format,
                manifest,
                signer,
            ),
            result.format,
            private,
        )
        if "mp3_rtf_180s" in wanted:
            cpu: list[float] = []
            with one_cpu():
                seconds = _median(
                    lambda: sign_delivery(
                        encode_mp3(result.samples, result.sample_rate),
                        "mp3",
                        {"kind": "mp3"},
                        master=master.data,
                        master_fmt=master.fmt,
                        manifest=manifest,
                        signer=signer,
                        private_key_pem=private,
                    ),
                    cpu,
                )
            yield Figure(
                "mp3_rtf_180s",
                round(DURATION_S / seconds, 1),
                "x realtime",
                "reported",
                peer=f"{seconds:.2f} s for a 180 s master on one CPU ({cpu[0]:.2f} s of CPU "
                f"time), median of {RUNS}",
            )
        if "stems_extra_s_180s" in wanted:
            plain = _median(lambda: render(plan, cache=cache))
            with_buses = _median(lambda: render(plan, cache=cache, buses=groups))

            def package() -> None:
                files = stem_files(
                    result.buses,
                    result.sample_rate,
                    manifest,
                    groups,
                    signer=signer,
                    master=master,
                )
                with tempfile.TemporaryFile(dir=tmp) as out:
                    write_stems_zip(
                        out,
                        files,
                        manifest,
                        private_key_pem=private,
                        sample_rate=result.sample_rate,
                        frames=result.samples.shape[0],
                        channels=result.samples.shape[1],
                        input_gain_db=result.stats["input_gain_db"],
                    )

            packing = _median(package)
            yield Figure(
                "stems_extra_s_180s",
                round(with_buses - plain + packing, 2),
                "s",
                "reported",
                peer=f"render alone {plain:.2f} s; {len(result.buses)} buses "
                f"+{with_buses - plain:.2f} s; files, credentials and zip {packing:.2f} s",
            )
