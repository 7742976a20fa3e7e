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

        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(churn, [1, 2]))
        assert results == [25 * (1 + 2 + 3 + 4), 25 * (2 + 3 + 4 + 5)], results
        block = np.ones(25_000_000, dtype=np.float32)  # faulted in once here
        del block
        faults_before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(5):
            block = np.ones(25_000_000, dtype=np.float32)
            del block
        print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults_before)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    faults = int(done.stdout.strip().splitlines()[-1])
    # Freshly mapped, 5 x 100 MB cost thousands of faults even on huge pages (~4,500 measured
    # with glibc's defaults); reused heap memory costs none.
    assert faults < 100, f"{faults} page faults: freed blocks were handed back to the kernel"
