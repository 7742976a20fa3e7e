"""Stems of a render: one bus per role group, time-aligned with the mix and as long as it.

A music editor who re-balances a soundtrack under dialogue, or a broadcaster who must drop the
vocals, wants the mix split into a few groups of parts, not a file per loop. The groups
(`ROLE_GROUPS`) follow the stem roles of the vault: rhythm (drums, percussion), bass, harmony
(harmony, texture), melody (melody, vocals) and fx; a stem with no known role goes to `other`.

Each bus is the sum of the placements of its group's stems (`renderer.engine.mix_buses`, which
runs `renderer.engine.mix` over those placements only: the same gains, fades and crossfades), times the master's input gain, the
gain `renderer.engine.master` applied before its limiter. So the buses add up to the mix as it
entered the limiter, at the level it entered it: summed and put through a limiter at the
master's ceiling they give the master back. The sum is not bit-exact, only because float32
addition is not associative (the mix adds every placement in plan order; the buses add each
group's, then the groups): `SUM_TOLERANCE` bounds the difference, and the tests hold it.

The mix before the limiter may go over full scale (the limiter is what brings it under), so
the stems are 32-bit float WAV (`wav_float32_bytes`), which keep every sample as mixed:
integer stems would have to be clipped or lowered, and would then no longer add up.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence

import numpy as np

from renderer.audio import Samples

# Role group -> the stem roles in it, in delivery order (renderer-side names: plain strings).
ROLE_GROUPS: dict[str, tuple[str, ...]] = {
    "rhythm": ("drums", "percussion"),
    "bass": ("bass",),
    "harmony": ("harmony", "texture"),
    "melody": ("melody", "vocals"),
    "fx": ("fx",),
}
OTHER_GROUP = "other"
# Largest |sum of the stems - mix before the limiter|, in full-scale units, per sample: 2**-20
# (-120 dBFS), three orders of magnitude above the float32 rounding of a sum of a few dozen
# placements near full scale (~1e-7 each) and far below what any ear or meter can see.
SUM_TOLERANCE = 2.0**-20


def role_group(role: str | None) -> str:
    """The group a stem of `role` is delivered in."""
    for group, roles in ROLE_GROUPS.items():
        if (role or "").lower() in roles:
            return group
    return OTHER_GROUP


def stem_groups(roles: Mapping[str, str | None]) -> dict[str, str]:
    """stem id -> its role group, from stem id -> role."""
    return {stem_id: role_group(role) for stem_id, role in roles.items()}


def group_order(groups: Sequence[str]) -> list[str]:
    """The distinct groups in delivery order (ROLE_GROUPS' order, `other` last)."""
    known = [*ROLE_GROUPS, OTHER_GROUP]
    return sorted(set(groups), key=lambda g: (known.index(g) if g in known else len(known), g))


def pre_limiter_factor(input_gain_db: float) -> np.float32:
    """The linear input gain exactly as `renderer.engine.master` applies it before limiting."""
    return np.float32(10.0 ** (input_gain_db / 20.0))


def wav_float32_bytes(samples: Samples, sample_rate: int) -> bytes:
    """A RIFF/WAVE file of 32-bit IEEE float samples (WAVE_FORMAT_IEEE_FLOAT, with the `fact`
    chunk that format requires), written here rather than by libsndfile, which adds a `PEAK`
    chunk with a wall-clock timestamp: these bytes are a pure function of the samples."""
    frames, channels = samples.shape
    block_align = 4 * channels
    data_size = frames * block_align
    if data_size + 58 > 0xFFFFFFFF:
        raise ValueError("a WAV file holds at most 4 GiB")
    fmt_chunk = struct.pack(
        "<4sIHHIIHHH",
        b"fmt ",
        18,
        3,  # WAVE_FORMAT_IEEE_FLOAT
        channels,
        sample_rate,
        sample_rate * block_align,
        block_align,
        32,
        0,  # cbSize: a non-PCM format's fmt chunk has it
    )
    fact = struct.pack("<4sII", b"fact", 4, frames)
    body = np.ascontiguousarray(samples, dtype="<f4").tobytes()
    riff_size = 4 + len(fmt_chunk) + len(fact) + 8 + data_size
    return (
        struct.pack("<4sI4s", b"RIFF", riff_size, b"WAVE")
        + fmt_chunk
        + fact
        + struct.pack("<4sI", b"data", data_size)
        + body
    )
