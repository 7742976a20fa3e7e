from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import UserCreationForm, UsernameField

from portal.accounts.models import ArtistProfile, TokenScope, User


class SignupForm(UserCreationForm):  # type: ignore[type-arg]
    email = forms.EmailField(
        required=True, help_text="For password resets and decisions on your stems."
    )
    display_name = forms.CharField(max_length=120, help_text="The name credited on your stems.")
    country = forms.CharField(
        max_length=2, required=False, help_text="Two-letter country code, e.g. DE"
    )

    class Meta:
        model = User
        fields = ("username", "email")
        field_classes = {"username": UsernameField}

    def clean_username(self) -> str:
        username: str = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError("That username is taken; choose another.")
        return username


class ProfileForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = ArtistProfile
        fields = ("display_name", "country", "contact_email")

    def clean_country(self) -> str:
        country: str = self.cleaned_data.get("country", "").strip().upper()
        if country and (len(country) != 2 or not country.isalpha()):
            raise forms.ValidationError("Use a two-letter country code such as FR or BR.")
        return country


class TokenForm(forms.Form):
    name = forms.CharField(
        label="Token name", max_length=80, help_text="Where you will use it, e.g. 'studio laptop'."
    )
    scope = forms.ChoiceField(choices=TokenScope.choices, initial=TokenScope.FULL)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs["autocomplete"] = "off"
