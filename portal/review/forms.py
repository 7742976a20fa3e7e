from __future__ import annotations

from django import forms

from portal.review.models import DecisionKind, ReasonTemplate
from portal.stems.models import StemKind, StemRole, Verdict

ANY = [("", "Any")]


class QueueFilterForm(forms.Form):
    role = forms.ChoiceField(choices=ANY + StemRole.choices, required=False)
    kind = forms.ChoiceField(choices=ANY + StemKind.choices, required=False)
    mood = forms.CharField(max_length=40, required=False)
    flag = forms.ChoiceField(
        label="Provenance",
        choices=[*ANY, (Verdict.FLAG, "Flagged"), (Verdict.PASS, "Clean")],
        required=False,
    )


class VaultFilterForm(forms.Form):
    q = forms.CharField(label="Title contains", max_length=100, required=False)
    role = forms.ChoiceField(choices=ANY + StemRole.choices, required=False)
    kind = forms.ChoiceField(choices=ANY + StemKind.choices, required=False)
    bpm_min = forms.DecimalField(label="BPM from", min_value=0, max_value=999, required=False)
    bpm_max = forms.DecimalField(label="BPM to", min_value=0, max_value=999, required=False)
    key = forms.CharField(label="Key", max_length=12, required=False)
    mood = forms.CharField(max_length=40, required=False)
    genre = forms.CharField(max_length=40, required=False)


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=DecisionKind.choices, widget=forms.RadioSelect)
    reason_template = forms.ModelChoiceField(
        label="Reason",
        queryset=ReasonTemplate.objects.filter(is_active=True),
        required=False,
        help_text="Required to reject; shown to the artist.",
    )
    note = forms.CharField(
        label="Note to the artist",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="Shown to the artist. Required when requesting changes.",
    )
    justification = forms.CharField(
        label="Justification (internal)",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="Required to approve a flagged stem; curators and staff read it.",
    )


class TakedownForm(forms.Form):
    reason = forms.CharField(
        label="Reason for the takedown", max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class CreditAnswerForm(forms.Form):
    """Accept or decline one's credit; the share shown is sent back so a changed one is caught."""

    split_bps = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=10000)
    message = forms.CharField(
        label="Message to the uploader (optional)",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
