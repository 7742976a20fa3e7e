"""Writes for stems, one module per concern: licenses, submission (contributing audio),
lifecycle (status moves, withdrawal, metadata and credit edits), credits (a credited artist's
answer to their share) and rendered_audio (the self-output guard). Callers import from the module that owns the write."""
