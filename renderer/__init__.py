"""Stemvault's audio engine.

Pure numpy/scipy/soundfile code: typed float32 arrays of shape (frames, channels) in and out, the
sample rate carried alongside. Nothing here imports Django or the portal; the portal calls the
engine, never the other way round.
"""

from __future__ import annotations

# 1.4.0: the limiter estimates inter-sample peaks with the true-peak meter's own 32-tap kernel
# (was 16 taps of its own, always 4x), so limited renders' samples change wherever the limiter
# acts; K-weighting by scipy's sosfilt moves loudness by ~1e-10 LU, which can round the input
# gain to another float32.
# 1.5.0: mastering adds at most MAX_MAKEUP_GAIN_DB (12 dB) above plain normalisation, so a plan
# that needed more (a sparse one-shot alone, e.g. perc_swash at 19.6 dB) now renders short of its
# target instead of reaching it by heavy limiting, or overflowing to NaN; plans may carry accents
# and a loudness preset. Every other plan renders the same samples as under 1.4.0.
ENGINE_VERSION = "1.5.0"
