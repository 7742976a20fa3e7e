"""The renderer tests' `signals` fixture (sines at EBU test levels, noise, clicks) and corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.factories import audio

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "cc0-samples"


@pytest.fixture
def corpus_dir() -> Path:
    if not CORPUS.is_dir() or not any(CORPUS.glob("*.flac")):
        pytest.skip("corpus ../shared/corpus/cc0-samples is absent")
    return CORPUS


class _Signals:
    """tests.factories.audio's generators, handed to tests as the `signals` fixture."""

    sine = staticmethod(audio.sine)
    sequence = staticmethod(audio.sequence)
    pink_noise = staticmethod(audio.pink_noise)
    click_loop = staticmethod(audio.click_loop)


@pytest.fixture
def signals() -> type[_Signals]:
    return _Signals
