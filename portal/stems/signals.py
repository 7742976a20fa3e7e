"""Signals other domains listen to. Sent after the commit that made the change, never before."""

from __future__ import annotations

import django.dispatch

# Sent with `stem=<Stem>` once a stem's move into in_review has committed (after provenance, or
# after a resubmission). The mixes domain renders the stem's preview mix; review may listen too.
stem_entered_review = django.dispatch.Signal()
