"""Assertions and snippets several test folders share (data builders live in tests.factories)."""
