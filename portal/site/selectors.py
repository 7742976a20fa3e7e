"""The dashboard: one page that gathers each domain's summary for the signed-in user's role.

It only calls the domains' own selectors, so each number here means what it means on the
domain's page."""

from __future__ import annotations

from collections import Counter
from typing import Any


def dashboard_for(*, user: Any) -> dict[str, Any]:
    from portal.mixes.selectors import soundtracks_for_user

    context: dict[str, Any] = {"soundtracks": list(soundtracks_for_user(user=user)[:5])}
    if user.is_artist:
        from portal.payouts.selectors import onboarding_status, payouts_visible_to
        from portal.royalties.overview import earnings_overview
        from portal.stems.selectors import credits_given_to, stem_list_for_artist

        stems = stem_list_for_artist(user=user)
        to_confirm = credits_given_to(user=user, consent="pending")
        context["credits_to_confirm"] = list(to_confirm[:5])
        context["credits_to_confirm_total"] = to_confirm.count()
        context["stem_counts"] = sorted(Counter(stems.values_list("status", flat=True)).items())
        context["recent_stems"] = list(stems[:6])
        context["earnings"] = earnings_overview(artist=user, months=6, stems=6)
        context["onboarding"] = onboarding_status(artist=user)
        context["payouts"] = list(payouts_visible_to(user=user)[:5])
    if user.is_curator or user.is_platform_staff:
        from portal.review.selectors import review_queue

        queue = review_queue()
        context["queue_total"] = queue.count()
        context["queue_flagged"] = review_queue(flag="flag").count()
    if user.is_platform_staff:
        from portal.payouts.selectors import payout_runs
        from portal.royalties.overview import periods_overview

        context["periods"] = periods_overview()[:4]
        context["runs"] = list(payout_runs()[:4])
    return context
