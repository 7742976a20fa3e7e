"""Stemvault's audio engine.

Pure numpy/soundfile code: typed float32 arrays of shape (frames, channels) in and out, the
sample rate carried alongside. Nothing here imports Django or the portal; the portal calls the
engine, never the other way round.
"""

from __future__ import annotations

ENGINE_VERSION = "1.2.0"
