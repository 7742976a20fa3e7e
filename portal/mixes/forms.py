from __future__ import annotations

from typing import Any

from django import forms

from renderer.presets import DEFAULT_LOUDNESS_PRESET, LOUDNESS_PRESETS

MOODS = [
    ("calm", "Calm"),
    ("uplifting", "Uplifting"),
    ("tense", "Tense"),
    ("dark", "Dark"),
    ("playful", "Playful"),
    ("epic", "Epic"),
    ("melancholic", "Melancholic"),
    ("energetic", "Energetic"),
]


class SoundtrackForm(forms.Form):
    duration_s = forms.IntegerField(
        label="Length (seconds)", min_value=5, max_value=600, initial=45
    )
    mood = forms.ChoiceField(label="Mood", choices=MOODS)
    bpm = forms.FloatField(
        label="Tempo (bpm)",
        min_value=40,
        max_value=240,
        required=False,
        help_text="Leave empty to let the planner choose the tempo that best fits your hit points.",
    )
    key = forms.CharField(
        label="Key", max_length=20, required=False, help_text='Optional, e.g. "A minor" or "F#m".'
    )
    hit_points = forms.CharField(
        label="Hit points (seconds)",
        required=False,
        help_text="Optional, comma-separated, e.g. 12, 30.5: section changes land on the bar "
        "lines nearest to them.",
    )
    format = forms.ChoiceField(
        label="Format", choices=[("wav", "WAV (24-bit)"), ("flac", "FLAC (24-bit)")]
    )
    loudness_preset = forms.ChoiceField(
        label="Loudness",
        choices=[(p.name, f"{p.title}: {p.describe()}") for p in LOUDNESS_PRESETS.values()],
        initial=DEFAULT_LOUDNESS_PRESET,
        required=False,  # left out: the default preset
        help_text="The delivery target the soundtrack is mastered to.",
    )
    seed = forms.IntegerField(
        label="Seed",
        min_value=0,
        max_value=2**31 - 1,
        initial=0,
        required=False,
        help_text="The same request with the same seed gives the same soundtrack.",
    )

    def clean_hit_points(self) -> list[float]:
        text = self.cleaned_data.get("hit_points") or ""
        try:
            return [float(part) for part in text.replace(";", ",").split(",") if part.strip()]
        except ValueError:
            raise forms.ValidationError(
                "Write seconds separated by commas, e.g. 12, 30.5."
            ) from None

    def request_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["seed"] = data.get("seed") or 0
        return data


class ClearanceForm(forms.Form):
    """The public clearance page's upload (portal.mixes.clearance_views reads the file itself,
    within its limits; this form only draws the field)."""

    file = forms.FileField(
        label="Audio clip",
        help_text="MP3, WAV, FLAC, AIFF or Ogg, 5 s to 3 min: the stretch a claim names.",
        widget=forms.ClearableFileInput(
            attrs={"accept": ".mp3,.wav,.flac,.aif,.aiff,.ogg,.oga,.opus,audio/*"}
        ),
    )
