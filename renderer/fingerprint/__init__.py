"""Acoustic fingerprints: spectral-peak landmarks, an inverted index, and layered-containment search.

The portal runs three provenance checks on every upload with this module: is it a near-duplicate
of any stem ever submitted, does it contain a vault stem layered under other sounds, and is it
(an excerpt of) a mix the platform rendered itself. All three reduce to one primitive: find
indexed items that share many *time-aligned* landmark hashes with the query.

Landmarks (after Wang 2003, written from the published description): local maxima of the
log-magnitude spectrogram survive lossy coding, resampling, gain and moderate noise because the
strongest time-frequency points of a sound stay the strongest. Pairs of nearby peaks are hashed
as (anchor frequency, frequency step, time step); each hash keeps its anchor frame so a match can
be confirmed by a consistent time offset between query and item, which random collisions lack.

One-shots (under PHASES_BELOW_S) also carry decay landmarks: how long each of their strongest
tonal peaks takes to fall by 3, 6, ... 18 dB in its own bin (see DECAY_DROPS_DB), which is what
survives when noise buries a kick's or a tabla stroke's fine detail. A query ranks candidates by
the share of landmarks they explain and keeps only those within RELATIVE_SCORE of the best, so
a sibling sound (the same drum, another stroke) is not reported beside the copy it resembles.

One-shots also carry forward landmarks, built only from what follows each frame, so a copy with
its attack or first quarter cut off keeps those of the part it kept (see FORWARD_WINDOW in
`extraction`); they match on their own and never conclusively. Longer queries look half a hop
later too, for their query-only landmarks, so a stem mixed in at any sub-frame delay aligns.

Analysis is rate-independent without a resampler: the STFT window is always 40 ms and the hop
16 ms *in seconds*, so bin k is k * 25 Hz at any input rate (44.1, 48, 96 kHz ...). Only the bins
between 50 Hz and 11 kHz are used, which lossy encoders keep and every common rate covers.

Why our own: no fingerprinting library among the project's dependencies does layered-containment
search or keeps a one-shot's decays, and the index format is ours to keep stable (stored indexes
are read back by FORMAT_VERSION and INDEX_FORMAT_VERSION).

Copies sped up, slowed or pitched (tempo +-5 %, key +-2 semitones, or both as a resampling
speed change does) are found by a shifted-key search on the query's own peaks (`shifted`); the
index is unchanged by it.

Modules: `extraction` (samples -> `Fingerprint`), `index` (the inverted index and its bytes),
`matching` (queries against it), `shifted` (the same query under other tempos and keys).
"""

from __future__ import annotations

from renderer.fingerprint.extraction import (
    FORMAT_VERSION,
    HOP_S,
    PHASES_BELOW_S,
    QUERY_ONLY,
    Fingerprint,
    fingerprint,
)
from renderer.fingerprint.index import INDEX_FORMAT_VERSION, FingerprintIndex
from renderer.fingerprint.matching import Match, conclusive, is_shifted

__all__ = [
    "FORMAT_VERSION",
    "HOP_S",
    "INDEX_FORMAT_VERSION",
    "PHASES_BELOW_S",
    "QUERY_ONLY",
    "Fingerprint",
    "FingerprintIndex",
    "Match",
    "conclusive",
    "fingerprint",
    "is_shifted",
]
