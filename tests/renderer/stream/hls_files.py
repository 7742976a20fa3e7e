"""Test material for the HLS delivery: a continuous signal, cut and encoded the way workers do,
and written out as a playlist folder (also served to Chromium by tests/browser/test_hls_player.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from renderer.stream import hls

RATE = 48_000
SEGMENT = 96_000  # 2 s, the contract's default


def chirp_and_noise(frames: int, *, seed: int = 3) -> np.ndarray:
    """A continuous stereo signal: a rising chirp (left), a falling one (right), and noise."""
    t = np.arange(frames) / RATE
    seconds = frames / RATE
    left = 0.45 * np.sin(2 * np.pi * (60 * t + (4000 - 60) * t * t / (2 * seconds)))
    right = 0.35 * np.sin(2 * np.pi * (3000 * t - (3000 - 90) * t * t / (2 * seconds)))
    noise = 0.02 * np.random.default_rng(seed).standard_normal((frames, 2))
    return (np.stack([left, right], axis=1) + noise).astype(np.float32)


def encode_run(signal: np.ndarray, first: int = 0) -> list[bytes]:
    """Each segment encoded on its own, from its own slice, as a worker would."""
    return [
        hls.media_segment(
            signal[i * SEGMENT : (i + 1) * SEGMENT],
            sequence=first + i,
            start_frame=(first + i) * SEGMENT,
        )
        for i in range(signal.shape[0] // SEGMENT)
    ]


def write_stream(folder: Path, signal: np.ndarray, *, ended: bool, manifests: bool) -> Path:
    (folder / "init.mp4").write_bytes(hls.init_segment())
    window = []
    for index, segment in enumerate(encode_run(signal)):
        if manifests:
            segment = hls.embed_segment_manifest(segment, {"segment": index, "stems": ["a", "b"]})
        (folder / f"seg-{index}.m4s").write_bytes(segment)
        window.append((index, SEGMENT / RATE, f"seg-{index}.m4s"))
    # As the portal serves it: a live playlist declares blocking reloads (RFC 8216bis).
    media = hls.media_playlist(
        segments=window, target_duration=2, init_uri="init.mp4", ended=ended, can_block_reload=True
    )
    (folder / "media.m3u8").write_text(media)
    main = hls.multivariant_playlist(media_uri="media.m3u8", bandwidth=hls.peak_bandwidth())
    (folder / "main.m3u8").write_text(main)
    return folder / "main.m3u8"
