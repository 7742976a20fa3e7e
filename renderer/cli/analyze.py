"""Measure a sound file: loudness, peaks, cutoff, tempo and problems."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import soundfile as sf

from renderer.analysis import analyze
from renderer.audio import load_audio


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="audio file to analyse (WAV, FLAC, AIFF, ...)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--kind", default=None, help="one-shot, loop, stem or field-recording")
    parser.add_argument("--bpm", type=float, default=None, help="declared tempo to check")


def _readable(data: dict[str, Any]) -> str:
    lines = []
    for key, value in data.items():
        if key in {"waveform_peaks", "problems"}:
            continue
        lines.append(f"{key:>20}: {'-' if value is None else value}")
    lines.append(f"{'waveform_peaks':>20}: {len(data['waveform_peaks'])} [min, max] pairs")
    problems = data["problems"]
    lines.append(f"{'problems':>20}: {'none' if not problems else ''}")
    lines.extend(f"  - {p['code']}: {p['message']}" for p in problems)
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    try:
        audio = load_audio(args.file)
    except (sf.LibsndfileError, RuntimeError, OSError) as error:
        print(f"analyze: cannot decode {args.file!r} as audio: {error}", file=sys.stderr)
        return 2
    data = analyze(audio, kind=args.kind, declared_bpm=args.bpm).to_dict()
    print(json.dumps(data, allow_nan=False) if args.json else _readable(data))
    return 0
