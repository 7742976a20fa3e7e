"""Provenance of one 60 s stem: the work the provenance job does, minus the database.

Measured per run, on one core: decode the upload (FLAC, 48 kHz stereo, 24-bit) within its
kind's limits as the job does (renderer.validate.load_upload; submission's own streamed check
runs in the web process, before the job),
analyse it (PCM hash, loudness, peaks, cutoff, tempo, waveform), fingerprint it, query the
stem index (near duplicates and containment, a few hundred stems) and the rendered-mix index
(self-output), and read its tags. The physical floor, measured in the same run, is decoding the
same FLAC with soundfile: no check can be cheaper than reading the samples once.
"""

from __future__ import annotations

import io
import statistics
import time
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt
import soundfile as sf

from bench import Figure, cpu_seconds, one_cpu
from portal.stems.evidence import read_tags
from renderer.analysis import analyze
from renderer.fingerprint import FingerprintIndex, fingerprint
from renderer.validate import load_upload

FIGURES: tuple[str, ...] = ("provenance_s_60s_stem",)
RATE = 48000
RUNS = 5
INDEX_STEMS = 300
INDEX_RENDERS = 30
Array = npt.NDArray[np.float32]


def _synth(seconds: float, seed: int, bpm: float) -> Array:
    """Plucked notes on a grid over a kick-ish pulse and a little noise: distinct per seed."""
    rng = np.random.default_rng(seed)
    frames = round(seconds * RATE)
    out = np.zeros(frames)
    step = 60.0 / bpm / 2
    length = round(step * RATE)
    t = np.arange(length) / RATE
    envelope = np.exp(-t * 7.0)
    kick = np.sin(2 * np.pi * (50 + 80 * np.exp(-t * 30)) * t) * np.exp(-t * 12)
    for index, start in enumerate(range(0, frames - length, length)):
        freq = 110.0 * 2 ** (int(rng.integers(0, 30)) / 12)
        note = (np.sin(2 * np.pi * freq * t) + 0.4 * np.sin(4 * np.pi * freq * t)) * envelope
        out[start : start + length] += note + (kick if index % 2 == 0 else 0.0)
    out += 0.01 * rng.standard_normal(frames)
    out *= 0.7 / np.max(np.abs(out))
    return np.stack([out, np.roll(out, 17)], axis=1).astype(np.float32)


def _indexes() -> tuple[FingerprintIndex, FingerprintIndex]:
    stems = FingerprintIndex()
    for i in range(INDEX_STEMS):
        seconds = 6.0 + (i % 5) * 3.0  # 6-18 s loops and stems
        stems.add(f"stem:{i}", fingerprint(_synth(seconds, 1000 + i, 80 + i % 60), RATE))
    renders = FingerprintIndex()
    for i in range(INDEX_RENDERS):
        renders.add(f"render:{i}", fingerprint(_synth(30.0, 5000 + i, 90 + i), RATE))
    return stems, renders


def _provenance(data: bytes, stems: FingerprintIndex, renders: FingerprintIndex) -> int:
    audio = load_upload(data, kind="stem")
    analysis = analyze(audio, kind="loop", declared_bpm=120.0)
    fp = fingerprint(audio.samples, audio.sample_rate)
    found = stems.query(fp, limit=20) + stems.find_contained(fp, limit=20)
    found += renders.query(fp) + renders.find_contained(fp)
    read_tags(data)
    return len(found) + len(analysis.problems)


def run(selected: list[str] | None = None) -> Iterable[Figure]:
    if selected and not any(name.startswith(s) for name in FIGURES for s in selected):
        return
    with one_cpu():  # one core, as the target says
        stems, renders = _indexes()
        buffer = io.BytesIO()
        sf.write(buffer, _synth(60.0, 7, 120.0), RATE, format="FLAC", subtype="PCM_24")
        data = buffer.getvalue()
        _provenance(data, stems, renders)  # warm-up: the index merges its pending adds once
        times, floors = [], []
        wall, cpu = time.perf_counter(), cpu_seconds()
        for _ in range(RUNS):
            start = time.perf_counter()
            sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
            floors.append(time.perf_counter() - start)
            start = time.perf_counter()
            _provenance(data, stems, renders)
            times.append(time.perf_counter() - start)
        cpu_share = (cpu_seconds() - cpu) / (time.perf_counter() - wall)
    value = statistics.median(times)
    floor = statistics.median(floors)
    yield Figure(
        name="provenance_s_60s_stem",
        value=round(value, 3),
        unit=f"s, median of {RUNS}, one core",
        target="<=1.0",
        peer=(
            f"floor: decoding the same 60 s FLAC with soundfile = {floor:.3f} s "
            f"(provenance = {value / floor:.1f}x floor); index of {INDEX_STEMS} stems "
            f"({stems.postings} postings) and {INDEX_RENDERS} renders; one CPU, one BLAS "
            f"thread (CPU time / wall time {cpu_share:.2f})"
        ),
    )
