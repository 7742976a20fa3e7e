"""Writes for stems, one module per concern: licenses, submission (contributing audio),
lifecycle (status moves, withdrawal, metadata edits) and rendered_audio (the self-output
guard). Callers import from the module that owns the write."""
