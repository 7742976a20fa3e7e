from __future__ import annotations

from django import forms

from portal.clients.models import AppStatus


class AppRegisterForm(forms.Form):
    name = forms.CharField(max_length=80, help_text="As your listeners know it, e.g. 'Night Bus'.")
    website = forms.URLField(required=False, assume_scheme="https")
    description = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What the app is and who listens: staff read it before approving.",
    )


class CredentialForm(forms.Form):
    name = forms.CharField(
        label="Credential name",
        max_length=80,
        help_text="Where it is used, e.g. 'game servers'.",
    )


class AppDecisionForm(forms.Form):
    status = forms.ChoiceField(
        choices=[
            (AppStatus.APPROVED, "Approve"),
            (AppStatus.REJECTED, "Reject"),
            (AppStatus.SUSPENDED, "Suspend"),
        ]
    )
    reason = forms.CharField(
        required=False,
        max_length=500,
        help_text="Needed to reject or suspend; the owner sees it.",
    )
