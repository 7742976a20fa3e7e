"""Writes for the live player: sessions (open, change, feedback, heartbeat, end), render ahead,
counting and paying what was heard, provenance of stream audio."""
