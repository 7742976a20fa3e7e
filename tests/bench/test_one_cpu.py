"""The benchmarks' "one core" figures hold only if nothing runs beside the pinned thread."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from bench import cpu_seconds, one_cpu


def _blas_threads() -> list[int]:
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="needs Linux CPU affinity")
def test_one_cpu_pins_the_thread_and_limits_blas_then_restores_both():
    allowed = os.sched_getaffinity(0)
    before = _blas_threads()
    assert before, "numpy's BLAS should be visible to threadpoolctl"
    with one_cpu():
        assert os.sched_getaffinity(0) == {min(allowed)}
        assert _blas_threads() == [1] * len(before)
    assert os.sched_getaffinity(0) == allowed
    assert _blas_threads() == before


def test_a_large_product_under_one_cpu_uses_no_more_cpu_time_than_wall_time():
    a = np.random.default_rng(0).standard_normal((1500, 1500))
    with one_cpu():
        wall, cpu = time.perf_counter(), cpu_seconds()
        for _ in range(3):
            a @ a
        share = (cpu_seconds() - cpu) / (time.perf_counter() - wall)
    # One thread cannot use more CPU time than wall time (a little slack for clock resolution).
    assert share < 1.15
