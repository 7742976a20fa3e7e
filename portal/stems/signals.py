"""Signals other domains listen to. Sent after the commit that made the change, never before."""

from __future__ import annotations

import django.dispatch

# Sent with `stem=<Stem>` once a stem's move into in_review has committed (after provenance, or
# after a resubmission). The mixes domain renders the stem's preview mix; review may listen too.
stem_entered_review = django.dispatch.Signal()

# Sent with `stem=<Stem>, credit_ids=[...]` once credits that wait for their artist's answer
# (new ones, or ones whose share changed) have committed. Review sends the credited artists a
# notice.
credits_awaiting_consent = django.dispatch.Signal()

# Sent with `stem=<Stem>` once a stem's move into the vault (approved, or back after a takedown
# is lifted) has committed. The catalogue renders the stem's audition preview.
stem_entered_vault = django.dispatch.Signal()
