from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import (
    AuthenticationForm,
    PasswordResetForm,
    UserCreationForm,
    UsernameField,
)
from django.http import HttpRequest

from portal.accounts import attempts
from portal.accounts.models import ArtistProfile, TokenScope, User
from portal.core.http import client_address

TOO_MANY = "too_many_attempts"


class AttemptLimitedLogin:
    """Sign-in limited per account and per address (portal/accounts/attempts.py): the attempt
    is counted first, and one over a limit is refused without checking the password."""

    request: HttpRequest | None
    cleaned_data: dict[str, Any]
    retry_after_s: int | None = None

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        if not username or not self.cleaned_data.get("password"):
            return super().clean()  # type: ignore[misc,no-any-return]
        address = client_address(self.request) if self.request is not None else ""
        try:
            attempts.login_attempt_register(username=username, address=address)
        except attempts.TooManyAttempts as exc:
            self.retry_after_s = exc.extra["retry_after_s"]
            raise forms.ValidationError(exc.message, code=TOO_MANY) from None
        cleaned: dict[str, Any] = super().clean()  # type: ignore[misc]
        attempts.login_attempt_succeeded(username=username, address=address)
        return cleaned


class LoginForm(AttemptLimitedLogin, AuthenticationForm):
    pass


class AdminLoginForm(AttemptLimitedLogin, AdminAuthenticationForm):
    """The admin's own sign-in page, limited the same way (or it would be a way around them)."""


class LimitedPasswordResetForm(PasswordResetForm):
    retry_after_s: int | None = None

    def __init__(self, *args: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request = request

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        email = cleaned.get("email")
        if not email:
            return cleaned
        address = client_address(self.request) if self.request is not None else ""
        try:
            attempts.password_reset_attempt_register(email=email, address=address)
        except attempts.TooManyAttempts as exc:
            self.retry_after_s = exc.extra["retry_after_s"]
            raise forms.ValidationError(exc.message, code=TOO_MANY) from None
        return cleaned


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
