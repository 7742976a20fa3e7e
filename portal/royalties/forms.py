from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from portal.royalties.periods import month_of, previous_month


class ClosePeriodForm(forms.Form):
    month = forms.RegexField(
        regex=r"^\d{4}-(0[1-9]|1[0-2])$",
        label="Month (UTC)",
        help_text="YYYY-MM. Only a month that has ended can be closed, and only once.",
        error_messages={"invalid": "Write the month as YYYY-MM, e.g. 2025-01."},
    )
    pool_minor = forms.IntegerField(
        min_value=0,
        label="Artists' pool, in minor units",
        help_text="Cents for usd: 50000 is 500.00 USD. Divided by attributed listening.",
    )
    currency = forms.RegexField(
        regex=r"^[A-Za-z]{3}$",
        initial="usd",
        label="Currency",
        help_text="Three letters, as Stripe writes it: usd, eur, gbp.",
        error_messages={"invalid": "Three letters, e.g. usd."},
    )

    force_reason = forms.CharField(
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Reason to close before the late window (only then)",
        help_text=(
            "Plays of a month may be reported for a while after it ends (the late window). "
            "Closing before that window has passed needs a reason, which goes into the audit "
            "log; plays of the month that arrive after the close count in the next open month."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["month"].initial = previous_month(month_of(timezone.now()))


class ReleaseForm(forms.Form):
    """Staff release held plays of an open month: one play, or a (rule, app) group."""

    month = forms.RegexField(regex=r"^\d{4}-(0[1-9]|1[0-2])$")
    rule = forms.CharField(required=False, max_length=32)
    app = forms.IntegerField(required=False, min_value=0)
    play = forms.UUIDField(required=False)
    reason = forms.CharField(
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Why these plays are genuine listening",
        error_messages={"required": "Say why: a release is audited."},
    )
