"""The rider on the way into silence: the K-filter's tail after the last layer decays into
subnormal energies, which must read as silence, not stop the stream."""

from __future__ import annotations

import math

import numpy as np

from renderer.stream import StreamSettings, rider
from renderer.stream.state import BLOCK_FRAMES


def test_a_tail_of_subnormal_energies_is_silence_not_an_error():
    state = rider.new_rider()
    # What the meter carried after the music stopped: energies far under the smallest normal
    # float once averaged over the 3 s window (seen in a demo stream whose layers all left).
    state.update(measured=[1e-320] * rider.HISTORY_BLOCKS, predicted=[0.0] * 30, primed=True)
    silence = np.zeros((21 * BLOCK_FRAMES, 2), dtype=np.float32)
    ridden, carried, stats = rider.ride(state, silence, 100, [], StreamSettings())
    assert not ridden.any()
    assert stats["short_term_lufs"] == -math.inf
    assert carried["gain_db"] == state["gain_db"]


def test_a_small_vault_never_leaves_a_stretch_of_the_stream_silent(tmp_path):
    # Two stems of the mood, one layer a section: at a section change the playing stem leaves
    # and the other may be resting; one comes back early rather than the stream falling silent.
    from renderer.stream import Controls
    from tests.renderer.stream.vault import make_vault, render_run

    vault = [s for s in make_vault(tmp_path, per_role=1) if "calm" in s.moods][:2]
    quiet = Controls(mood="calm", intensity=0.0)
    for seed in range(4):
        segments = render_run(60, vault=vault, seed=seed, controls=quiet)
        silent = [segment.index for segment in segments if not segment.stems]
        assert silent == [], (seed, silent)
