"""keep_freed_memory: glibc keeps large freed blocks, and big arrays still work in threads."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux's")
def test_large_arrays_are_served_and_kept_in_threads_after_the_switch() -> None:
    # A subprocess: the allocator setting is process-wide and must not leak into other tests.
    script = textwrap.dedent(
        """
        import resource
        from concurrent.futures import ThreadPoolExecutor
        import numpy as np
        from renderer.memory import keep_freed_memory

        assert keep_freed_memory() is True
        assert keep_freed_memory() is True  # idempotent

        def churn(seed):
            # 100 MB blocks: past glibc's mmap threshold and past a thread arena's 64 MB heap,
            # so they must come from the main heap.
            total = 0.0
            for step in range(4):
                block = np.full(25_000_000, seed + step, dtype=np.float32)
                total += float(block[::1_000_000].sum())
                del block
            return total

        def faults():
            return resource.getrusage(resource.RUSAGE_SELF).ru_minflt

        with ThreadPoolExecutor(2) as pool:  # the first round faults the heap in
            results = list(pool.map(churn, [1, 2]))
        assert results == [25 * (1 + 2 + 3 + 4), 25 * (2 + 3 + 4 + 5)], results
        before = faults()
        with ThreadPoolExecutor(2) as pool:  # new threads, like each render's decoding pool
            assert list(pool.map(churn, [1, 2])) == results
        print("threads", faults() - before)
        block = np.ones(25_000_000, dtype=np.float32)  # faulted in once here
        del block
        before = faults()
        for _ in range(5):
            block = np.ones(25_000_000, dtype=np.float32)
            del block
        print("main", faults() - before)
        blocks = [np.ones(25_000_000, dtype=np.float32) for _ in range(12)]  # 1.2 GB at once
        del blocks
        before = faults()
        blocks = [np.ones(25_000_000, dtype=np.float32) for _ in range(12)]
        print("peak", faults() - before)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    faults = dict(line.split() for line in done.stdout.strip().splitlines()[-3:])
    # Freshly mapped, 5 x 100 MB cost thousands of faults even on huge pages (~4,500 measured
    # with glibc's defaults); reused heap memory costs none. Threads' blocks of 100 MB used to
    # be mapped afresh each time even with the main heap kept (a thread arena's heaps hold at
    # most 64 MB, and glibc then maps the block whatever M_MMAP_MAX says): ~3,200 faults.
    assert int(faults["main"]) < 100, f"{faults}: freed blocks were handed back to the kernel"
    assert int(faults["threads"]) < 100, f"{faults}: threads' blocks were mapped afresh"
    # A heap that held 1.2 GB keeps it when it is all freed at once (a whole-file mix's peak).
    assert int(faults["peak"]) < 100, f"{faults}: the freed peak was trimmed and faulted in again"
