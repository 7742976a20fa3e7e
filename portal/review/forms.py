from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from portal.review.models import DecisionKind, ReasonTemplate
from portal.stems.forms import credit_lines, parse_credit_lines
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


def _tags(value: str) -> list[str]:
    return list(dict.fromkeys(tag.strip().lower() for tag in value.split(",") if tag.strip()))


class ResubmitForm(forms.Form):
    """The metadata an artist may correct when changes are requested (audio stays as it is)."""

    title = forms.CharField(max_length=200)
    role = forms.ChoiceField(choices=StemRole.choices)
    bpm = forms.DecimalField(
        label="BPM", max_digits=6, decimal_places=2, min_value=Decimal(20), required=False
    )
    bars = forms.IntegerField(min_value=1, max_value=1024, required=False)
    musical_key = forms.CharField(label="Key", max_length=12, required=False)
    moods = forms.CharField(
        max_length=300, required=False, help_text="Comma-separated, e.g. calm, dark"
    )
    genres = forms.CharField(
        max_length=300, required=False, help_text="Comma-separated, e.g. ambient, techno"
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    credits = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One artist per line: username and royalty share in percent, e.g. “ada 60” and "
        "“ben 40”, adding up to exactly 100 (empty: you, 100%). Each artist whose share you "
        "change or add is asked again to accept it.",
    )

    @classmethod
    def for_stem(cls, stem: Any, data: Any = None) -> ResubmitForm:
        initial = {
            "title": stem.title,
            "role": stem.role,
            "bpm": stem.bpm,
            "bars": stem.bars,
            "musical_key": stem.musical_key,
            "moods": ", ".join(stem.moods or []),
            "genres": ", ".join(stem.genres or []),
            "description": stem.description,
            "credits": credit_lines(stem.credits.select_related("artist").order_by("-split_bps")),
        }
        return cls(data, initial=initial)

    def clean_credits(self) -> list[dict[str, Any]] | None:
        # A post without the field (an older page, a script) leaves the credits as they are.
        if "credits" not in self.data:
            return None
        return parse_credit_lines(self.cleaned_data.get("credits") or "")

    def clean_moods(self) -> list[str]:
        return _tags(self.cleaned_data.get("moods", ""))

    def clean_genres(self) -> list[str]:
        return _tags(self.cleaned_data.get("genres", ""))

    def clean_musical_key(self) -> str:
        return str(self.cleaned_data.get("musical_key", "")).strip()


class CreditAnswerForm(forms.Form):
    """Accept or decline one's credit; the share shown is sent back so a changed one is caught."""

    split_bps = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=10000)
    message = forms.CharField(
        label="Message to the uploader (optional)",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
