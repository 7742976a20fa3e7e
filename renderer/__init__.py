"""Stemvault's audio engine.

Pure numpy/soundfile code: typed float32 arrays of shape (frames, channels) in and out, the
sample rate carried alongside. Nothing here imports Django or the portal; the portal calls the
engine, never the other way round.
"""

from __future__ import annotations

# 1.3.0: K-weighting states summed by Toeplitz products (loudness moves ~1e-13 LU, which can
# round a render's gain to another float32 in rare cases; the bench plan's bytes are unchanged).
ENGINE_VERSION = "1.3.0"
