"""Musical keys: the platform's one grammar lives in the engine (`renderer.music`), where the
stream planner needs it too; the portal's domains import it from here."""

from __future__ import annotations

from renderer.music import MusicalKey, keys_fit, parse_key

__all__ = ["MusicalKey", "keys_fit", "parse_key"]
