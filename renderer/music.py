"""Musical keys, one grammar for the whole platform: what an artist may write on a stem, what a
client may ask a soundtrack or a stream in, and which keys sound right together. It lives in the
engine because the stream planner (renderer.stream) moves between keys itself; the portal
imports it from here (portal.core.music)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_PITCHES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_KEY_RE = re.compile(
    r"^\s*([A-Ga-g])\s*([#b♯♭]?)\s*(m|min|minor|maj|major|M)?\s*$",
)


@dataclass(frozen=True)
class MusicalKey:
    pitch: int  # pitch class of the tonic, 0 = C
    minor: bool

    @property
    def relative_major(self) -> int:
        return (self.pitch + 3) % 12 if self.minor else self.pitch

    @property
    def name(self) -> str:
        return f"{_PITCH_NAMES[self.pitch]} {'minor' if self.minor else 'major'}"

    def fits(self, other: MusicalKey) -> bool:
        """Same key, relative major/minor, or a fifth away in the same mode."""
        if self.minor != other.minor:
            return self.relative_major == other.relative_major
        return (self.pitch - other.pitch) % 12 in (0, 5, 7)


def parse_key(text: str | None) -> MusicalKey | None:
    """ "F#m", "Bb", "A minor", "c major" -> MusicalKey; empty or unreadable -> None (key-less)."""
    if not text:
        return None
    match = _KEY_RE.match(text)
    if match is None:
        return None
    letter, accidental, mode = match.groups()
    pitch = _PITCHES[letter.upper()]
    if accidental in ("#", "♯"):
        pitch += 1
    elif accidental in ("b", "♭"):
        pitch -= 1
    minor = mode in ("m", "min", "minor")
    return MusicalKey(pitch % 12, minor)


def keys_fit(a: MusicalKey | None, b: MusicalKey | None) -> bool:
    return a is None or b is None or a.fits(b)
