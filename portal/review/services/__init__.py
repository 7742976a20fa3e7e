"""Writes for review, one module per concern: claims (a curator's hold on a stem in review),
decisions (closing a review round), resubmission (the artist's corrections, back to review) and
takedowns (an approved stem out of the vault); guards holds the checks they share. Callers
import from the module that owns the write.

Every write locks the stem row first and re-reads its status under the lock, so concurrent
curators serialise on the stem; the status moves themselves go through the stems domain's
`stem_transition` (its transition table and audit entry), and review adds its own entry for the
claim, decision or takedown that caused them, in the same transaction.
"""
