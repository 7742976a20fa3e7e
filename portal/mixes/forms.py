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
    mp3 = forms.BooleanField(
        label="Also an MP3 (320 kbps)",
        required=False,
        help_text="Made from the master, with its own Content Credentials.",
    )
    stems = forms.BooleanField(
        label="Also the stems",
        required=False,
        help_text="A zip of one file per role group (rhythm, bass, harmony, melody, fx), "
        "time-aligned, as long as the mix, that add up to it before the master limiter.",
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

    pinned_stem_ids = forms.CharField(
        label="Pinned stems",
        required=False,
        help_text="Optional stem numbers that must play, comma-separated (the catalogue's "
        "“use in a soundtrack” fills this in).",
    )
    muted_stem_ids = forms.CharField(
        label="Muted stems",
        required=False,
        help_text="Optional stem numbers that must not play, comma-separated.",
    )

    def clean_pinned_stem_ids(self) -> list[int]:
        return stem_ids(self.cleaned_data.get("pinned_stem_ids"))

    def clean_muted_stem_ids(self) -> list[int]:
        return stem_ids(self.cleaned_data.get("muted_stem_ids"))

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
        data["formats"] = [data["format"], *(["mp3"] if data.pop("mp3", False) else [])]
        return data


def stem_ids(text: str | None) -> list[int]:
    """ "12, 14; #15" -> [12, 14, 15]."""
    parts = (text or "").replace(";", ",").replace("#", "").split(",")
    try:
        ids = [int(part) for part in parts if part.strip()]
    except ValueError:
        raise forms.ValidationError(
            "Write stem numbers separated by commas, e.g. 12, 14."
        ) from None
    if any(i <= 0 for i in ids):
        raise forms.ValidationError("Stem numbers are whole numbers above 0.")
    return ids


def pins_from_query(values: list[str]) -> str:
    """The pinned stems a link asks for (`?pin=12&pin=14`), as the form's field text; anything
    that is not a stem number is left out (the form is the user's to fix, not a 400)."""
    return ", ".join(dict.fromkeys(v.strip() for v in values if v.strip().isdigit()))


class VersionForm(forms.Form):
    """A new version of a soundtrack from its page: any of these changes (see versions.py)."""

    length_s = forms.IntegerField(
        label="New length (seconds)", min_value=5, max_value=600, required=False
    )
    swap_from = forms.TypedChoiceField(
        label="Swap this stem", coerce=int, required=False, empty_value=None
    )
    swap_to = forms.IntegerField(label="for stem number", min_value=1, required=False)
    mute = forms.TypedChoiceField(label="Mute a stem", coerce=int, required=False, empty_value=None)
    pin = forms.IntegerField(label="Pin a stem (number)", min_value=1, required=False)
    regenerate_section = forms.TypedChoiceField(
        label="Re-draw a section", coerce=int, required=False, empty_value=None
    )
    name = forms.CharField(label="Name of the new version", max_length=120, required=False)

    def __init__(
        self, *args: Any, stems: list[tuple[int, str]], sections: list[str], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "—"), *((str(i), f"{title} (#{i})") for i, title in stems)]
        self.fields["swap_from"].choices = choices  # type: ignore[attr-defined]
        self.fields["mute"].choices = choices  # type: ignore[attr-defined]
        self.fields["regenerate_section"].choices = [  # type: ignore[attr-defined]
            ("", "—"),
            *((str(i), f"{i + 1}. {name}") for i, name in enumerate(sections)),
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (data.get("swap_from") is None) != (not data.get("swap_to")):
            self.add_error("swap_to", "Choose the stem to swap and the stem to play instead.")
        return data

    def changes(self, request: dict[str, Any]) -> dict[str, Any]:
        data = self.cleaned_data
        changes: dict[str, Any] = {}
        if data.get("length_s"):
            changes["length_s"] = float(data["length_s"])
        if data.get("swap_from") is not None or data.get("swap_to"):
            changes["swap"] = {"from": data.get("swap_from") or 0, "to": data.get("swap_to") or 0}
        pins = list(request.get("pinned_stem_ids") or [])
        mutes = list(request.get("muted_stem_ids") or [])
        if data.get("mute") is not None:
            changes["muted_stem_ids"] = sorted({*mutes, data["mute"]})
        if data.get("pin"):
            changes["pinned_stem_ids"] = sorted({*pins, data["pin"]})
        if data.get("regenerate_section") is not None:
            changes["regenerate_section"] = data["regenerate_section"]
        return changes


class DescribeForm(forms.Form):
    name = forms.CharField(label="Name", max_length=120, required=False)
    notes = forms.CharField(
        label="Notes", max_length=4000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


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
