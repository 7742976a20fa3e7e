"""A small synthetic vault for the stream tests: loops, one-shots and textures of every role, in
two moods, at three loudness levels, written as files with their sha256 (the default loader
checks it)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from renderer.stems import StemCache
from renderer.stream import (
    Controls,
    Segment,
    StreamEvent,
    StreamSettings,
    StreamState,
    VaultStem,
    render_segment,
    stream_open,
)

RATE = 48_000
_BAR_S = 2.0  # one bar at 120 bpm


def _loop(role: str, bars: int, seed: int, level_db: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    frames = round(bars * _BAR_S * RATE)
    t = np.arange(frames) / RATE
    beat = RATE // 2
    if role in ("drums", "percussion"):
        mono = np.zeros(frames)
        hit = np.exp(-np.arange(beat) / (0.03 * RATE)) * rng.standard_normal(beat)
        step = beat if role == "drums" else beat // 2
        for start in range(0, frames, step):
            part = hit[: min(beat, frames - start)]
            mono[start : start + part.shape[0]] += part
    elif role == "bass":
        mono = np.sin(2 * np.pi * (40 + 5 * (seed % 7)) * t)
    elif role in ("texture", "fx"):
        mono = np.convolve(rng.standard_normal(frames), np.ones(16) / 16, mode="same")
    else:
        freq = 220.0 * 2 ** ((seed % 12) / 12)
        mono = sum(np.sin(2 * np.pi * freq * m * t + seed) for m in (1.0, 1.25, 1.5))
    mono = mono / (np.max(np.abs(mono)) + 1e-12) * 10 ** (level_db / 20)
    pan = 0.3 + 0.4 * rng.random()
    return np.stack([mono * (1 - pan), mono * pan], axis=1).astype(np.float32)


ROLES = ("drums", "percussion", "bass", "harmony", "melody", "vocals", "texture", "fx")


def make_vault(
    folder: Path, *, per_role: int = 4, levels: tuple[float, ...] = (-6.0, -18.0, -30.0)
) -> list[VaultStem]:
    """per_role loops of each role (moods alternating calm/energetic, loudness cycling through
    `levels`), 1, 2 or 4 bars long at 120 bpm (a few at 118/123 to exercise tempo conform),
    keys A minor / C major / E minor / none."""
    stems = []
    keys = ("A minor", "C major", None, "E minor")
    n = 0
    for role in ROLES:
        for i in range(per_role):
            bars = (1, 2, 4)[i % 3]
            level = levels[(n + i) % len(levels)]
            audio = _loop(role, bars, seed=n, level_db=level)
            path = folder / f"{role}-{i}.wav"
            sf.write(path, audio, RATE, subtype="FLOAT")
            data = path.read_bytes()
            rhythmic = role in ("drums", "percussion", "bass")
            stems.append(
                VaultStem(
                    id=f"{role}-{i}",
                    role=role,
                    kind="loop",
                    moods=frozenset({"calm" if i % 2 == 0 else "energetic", "focus"}),
                    bpm=120.0 if i != 3 else 118.0,
                    key=None if rhythmic else keys[i % len(keys)],
                    duration_s=bars * _BAR_S,
                    content_sha256=hashlib.sha256(data).hexdigest(),
                    path=str(path),
                )
            )
            n += 1
    return stems


@pytest.fixture(scope="session")
def synthetic_vault(tmp_path_factory: pytest.TempPathFactory) -> list[VaultStem]:
    """Shared by the stream tests (import it into a test module to use it)."""
    return make_vault(tmp_path_factory.mktemp("stream-vault"))


def render_run(
    count: int,
    *,
    vault: list[VaultStem],
    seed: int = 1,
    controls: Controls | None = None,
    events: list[StreamEvent] | None = None,
    cache: StemCache | None = None,
    vault_at: Callable[[int], list[VaultStem]] | None = None,
    settings: StreamSettings | None = None,
) -> list[Segment]:
    """`count` segments in sequence, the state JSON round-tripped between them as the portal
    stores it; `vault_at(index)` may change the vault from one segment to the next."""
    state = stream_open(seed=seed, controls=controls or Controls(mood="calm", intensity=0.5))
    segments = []
    for index in range(count):
        segment = render_segment(
            state,
            vault=vault_at(index) if vault_at else vault,
            events=events or [],
            cache=cache,
            settings=settings or StreamSettings(),
        )
        segments.append(segment)
        state = StreamState.from_json(json.loads(json.dumps(segment.state_after.to_json())))
    return segments
