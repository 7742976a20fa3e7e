from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms

from portal.core.errors import ApplicationError
from portal.stems.details import (
    ATTESTATIONS,
    MAX_FILES_PER_SUBMISSION,
    clean_attestations,
    metadata_per_file,
    split_percent,
)
from portal.stems.models import StemKind, StemRole
from portal.stems.selectors import license_list
from portal.stems.services import upload_checks


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files from one <input type=file multiple>; the service judges each file."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget",
            MultipleFileInput(
                attrs={"accept": ".wav,.flac,.aif,.aiff,audio/wav,audio/flac,audio/aiff"}
            ),
        )
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        if isinstance(data, list | tuple):
            if not data and self.required:
                raise forms.ValidationError("Choose at least one audio file.")
            return list(data)
        if not data:
            if self.required:
                raise forms.ValidationError("Choose at least one audio file.")
            return []
        return [data]


_CREDIT_LINE = re.compile(r"^@?(?P<name>[\w.@+-]+)[\s,:=]+(?P<pct>[0-9]+(?:[.,][0-9]+)?)\s*%?$")


def parse_credit_lines(text: str) -> list[dict[str, Any]]:
    """The credits textarea ("ada 60" per line) as the services' credit dicts; the services
    judge the names and the splits."""
    credits = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = _CREDIT_LINE.match(line.strip())
        if match is None:
            raise forms.ValidationError(
                f"Line {number} (“{line.strip()}”) should be a username and a percentage, "
                "like “ada 60”."
            )
        try:
            percent = Decimal(match["pct"].replace(",", "."))
        except InvalidOperation:  # pragma: no cover - the pattern only lets numbers through
            raise forms.ValidationError(f"Line {number}: the share is not a number.") from None
        credits.append({"artist": match["name"], "split_percent": percent})
    return credits


def credit_lines(credits: Any) -> str:
    """Credit rows written back as the textarea's lines, for a form's initial value."""
    return "\n".join(
        f"{credit.artist.username} {split_percent(credit.split_bps).rstrip('%')}"
        for credit in credits
    )


class ContributeForm(forms.Form):
    audio_files = MultipleFileField(
        label="Audio files",
        help_text="WAV, FLAC or AIFF (not MP3 or Ogg). Choose several files to contribute them "
        "together: the details below apply to each, and each file's own title, role, tempo, bars "
        "and key can be set in the list that appears.",
    )
    title = forms.CharField(
        max_length=200,
        required=False,
        help_text="Leave empty to use each file's name. With several files, each title becomes "
        "“your title – file name”.",
    )
    kind = forms.ChoiceField(choices=StemKind.choices)
    role = forms.ChoiceField(choices=StemRole.choices)
    bpm = forms.DecimalField(
        label="BPM", required=False, max_digits=6, decimal_places=2, help_text="Needed for loops."
    )
    bars = forms.IntegerField(required=False, min_value=1, help_text="Needed for loops.")
    musical_key = forms.CharField(
        label="Musical key", required=False, max_length=12, help_text="e.g. C, F#m, Bb"
    )
    moods = forms.CharField(required=False, help_text="Comma-separated, e.g. calm, bright")
    genres = forms.CharField(required=False, help_text="Comma-separated, e.g. ambient, hip-hop")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    credits = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One artist per line: username and royalty share in percent, e.g. “ada 60” "
        "and “ben 40”. The shares must add up to exactly 100. Leave empty to credit yourself "
        "with 100%.",
    )
    license_version = forms.TypedChoiceField(label="License", coerce=int, choices=())
    made_it_and_holds_rights = forms.BooleanField(
        required=False, label=ATTESTATIONS["made_it_and_holds_rights"]
    )
    no_uncleared_samples = forms.BooleanField(
        required=False, label=ATTESTATIONS["no_uncleared_samples"]
    )
    not_ai_generated = forms.BooleanField(required=False, label=ATTESTATIONS["not_ai_generated"])
    accept_terms = forms.BooleanField(
        required=False, label="I accept the terms of the license version I chose above."
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.licenses = list(license_list())
        self.fields["license_version"].choices = [  # type: ignore[attr-defined]
            (lic.version, f"Version {lic.version}: {lic.title}") for lic in self.licenses
        ]
        current = next((lic for lic in self.licenses if lic.is_current), None)
        if current is not None:
            self.fields["license_version"].initial = current.version
        self.file_details = file_details_formset(self.data) if self.is_bound else None

    def empty_file_details(self) -> Any:
        """The unbound rows: their management form, and the row the page's script copies."""
        return FileDetailsFormSet(prefix=FILE_DETAILS_PREFIX)

    def metadata(self) -> list[dict[str, Any]]:
        """One metadata dict per chosen file: the shared details, each file's own row over them.
        Raises ApplicationError naming the file and field when a row is wrong."""
        files = self.cleaned_data["audio_files"]
        rows = self.file_details
        if rows is not None and not rows.is_valid():
            raise ApplicationError(
                "invalid",
                file_details_errors(rows, files),
                extra={"file_errors": file_details_problems(rows, files)},
            )
        return metadata_per_file(
            files=files,
            common=self.common_metadata(),
            per_file=[row.overrides() for row in rows.forms] if rows is not None else None,
        )

    def clean_credits(self) -> list[dict[str, Any]]:
        return parse_credit_lines(self.cleaned_data.get("credits") or "")

    def common_metadata(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            key: data.get(key)
            for key in (
                "title",
                "kind",
                "role",
                "bpm",
                "bars",
                "musical_key",
                "moods",
                "genres",
                "description",
            )
        }

    def attestations(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "made_it_and_holds_rights": bool(data.get("made_it_and_holds_rights")),
            "no_uncleared_samples": bool(data.get("no_uncleared_samples")),
            "not_ai_generated": bool(data.get("not_ai_generated")),
            "accepts_terms_version": data.get("license_version")
            if data.get("accept_terms")
            else None,
        }

    # The service names fields by its own vocabulary; these are the form's names for them.
    SERVICE_FIELDS = {
        "accepts_terms_version": "accept_terms",
        "files": "audio_files",
        "metadata": None,
    }

    def add_service_error(self, error: Any) -> None:
        placed = False
        for name, messages in (error.fields or {}).items():
            field = self.SERVICE_FIELDS.get(name, name)
            if field in self.fields:
                self.add_error(field, error.message if not placed else messages)
                placed = True
        if not placed:
            self.add_error(None, error.message)


class FileDetailsForm(forms.Form):
    """What differs from file to file in a multi-file contribution; an empty field means "as
    in the shared details". The contribute page's script adds one per chosen file."""

    title = forms.CharField(max_length=200, required=False)
    kind = forms.ChoiceField(choices=[("", "Same as above"), *StemKind.choices], required=False)
    role = forms.ChoiceField(choices=[("", "Same as above"), *StemRole.choices], required=False)
    bpm = forms.DecimalField(label="BPM", required=False, max_digits=6, decimal_places=2)
    bars = forms.IntegerField(required=False, min_value=1)
    musical_key = forms.CharField(label="Musical key", required=False, max_length=12)

    def overrides(self) -> dict[str, Any]:
        return {key: value for key, value in self.cleaned_data.items() if value not in (None, "")}


FileDetailsFormSet = forms.formset_factory(
    FileDetailsForm, extra=0, max_num=MAX_FILES_PER_SUBMISSION, validate_max=True
)
FILE_DETAILS_PREFIX = "file"


def file_details_formset(data: Any) -> Any:
    """The per-file details when the page sent any (its script adds a row per file when several
    are chosen), else None: with one file, or without JavaScript, every file takes the shared
    details."""
    if data.get(f"{FILE_DETAILS_PREFIX}-TOTAL_FORMS", "0") in ("", "0"):
        return None
    return FileDetailsFormSet(data, prefix=FILE_DETAILS_PREFIX)


def file_details_problems(formset: Any, files: list[Any]) -> list[dict[str, Any]]:
    """Each per-file row's errors as {index, file, field, message}: what the page shows next to
    that file's field (the same shape as the service's file_errors)."""
    problems = []
    for index, form in enumerate(formset.forms):
        name = getattr(files[index], "name", f"file {index + 1}") if index < len(files) else ""
        for field, messages in form.errors.items():
            for message in messages:
                problems.append({"index": index, "file": name, "field": field, "message": message})
    return problems


def file_details_errors(formset: Any, files: list[Any]) -> str:
    """One sentence naming each file and field to fix, for the notice above the form (the rows
    themselves are the script's and do not survive the round trip)."""
    problems = []
    for index, form in enumerate(formset.forms):
        name = getattr(files[index], "name", f"file {index + 1}") if index < len(files) else ""
        for field, messages in form.errors.items():
            label = form.fields[field].label or field.replace("_", " ").capitalize()
            problems.append(f"{name}: {label}: {' '.join(messages)}")
    problems.extend(str(message) for message in formset.non_form_errors())
    return "Check the details per file. " + " ".join(problems)


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


def _kinds_sent(form: ContributeForm, count: int) -> list[str | None]:
    """Each file's kind as the post gives it (its own row's, else the shared one), if valid."""
    known = {value for value, _ in StemKind.choices}
    shared = form.data.get("kind")
    kinds: list[str | None] = []
    for index in range(count):
        own = form.data.get(f"{FILE_DETAILS_PREFIX}-{index}-kind") or shared
        kinds.append(own if own in known else None)
    return kinds


ATTESTATION_FIELDS = (
    "made_it_and_holds_rights",
    "no_uncleared_samples",
    "not_ai_generated",
    "accept_terms",
)


def _service_field_errors(error: Any) -> dict[str, list[str]]:
    """A service error's fields under the form's names (unknown ones under "__all__")."""
    errors: dict[str, list[str]] = {}
    for name, messages in (error.fields or {}).items():
        field = ContributeForm.SERVICE_FIELDS.get(name, name) or "__all__"
        if field not in ContributeForm.base_fields:
            field = "__all__"
        errors.setdefault(field, []).extend(str(message) for message in messages)
    return errors


def contribution_errors(form: ContributeForm, error: Any) -> dict[str, Any]:
    """Every problem of a refused contribution at once, for the page's script: the form's fields
    (`errors`), and each file's (`file_errors`: index, file, field, message). Nothing was saved.

    Whatever stopped the contribution first (a shared field, a file's own row, the service), the
    files are judged (name, size, container, signal) and the statements checked too, so the
    artist fixes everything in one go."""
    file_errors: list[dict[str, Any]] = list(error.extra.get("file_errors", [])) if error else []
    if error is None:
        errors = {name: [str(m) for m in messages] for name, messages in form.errors.items()}
    else:
        errors = _service_field_errors(error)
    if file_errors:
        errors.pop("audio_files", None)  # each file's problem is shown beside it instead
        errors.pop("__all__", None)
    rows = form.file_details
    files = form.files.getlist("audio_files")
    if error is None and rows is not None and not rows.is_valid():
        file_errors.extend(file_details_problems(rows, files))
    if error is None or not error.extra.get("files_judged"):
        file_errors.extend(upload_checks.file_problems(files, _kinds_sent(form, len(files))))
        # Not form.is_valid(): a row's error added to the form makes that False, and the
        # shared fields it cleaned are still there to check the statements with.
        cleaned = getattr(form, "cleaned_data", {})
        if "license_version" in cleaned and not any(name in errors for name in ATTESTATION_FIELDS):
            try:
                clean_attestations(form.attestations(), license_version=cleaned["license_version"])
            except ApplicationError as refused:
                for name, messages in _service_field_errors(refused).items():
                    errors.setdefault(name, []).extend(messages)
    count = sum(len(messages) for messages in errors.values()) + len(file_errors)
    single = error is not None and count <= 1
    return {
        "code": error.code if error is not None else "invalid",
        "message": error.message
        if single
        else f"Nothing was saved: {count} problems to fix, marked below.",
        "errors": errors,
        "file_errors": file_errors,
    }
