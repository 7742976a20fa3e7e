from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_POST

from portal.accounts import services
from portal.accounts.forms import (
    TOO_MANY,
    LimitedPasswordResetForm,
    LoginForm,
    ProfileForm,
    SignupForm,
    TokenForm,
)
from portal.accounts.models import Role
from portal.core.errors import ApplicationError


def _refused(form: Any, response: HttpResponse) -> HttpResponse:
    """The page again with the form's message; 429 with Retry-After when a limit refused it."""
    if form.has_error(NON_FIELD_ERRORS, TOO_MANY):
        response.status_code = 429
        if form.retry_after_s:
            response["Retry-After"] = str(form.retry_after_s)
    return response


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    form_class = LoginForm

    def form_invalid(self, form: Any) -> HttpResponse:
        return _refused(form, super().form_invalid(form))


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")
    form_class = LimitedPasswordResetForm

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "request": self.request}

    def form_invalid(self, form: Any) -> HttpResponse:
        return _refused(form, super().form_invalid(form))


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("site:dashboard")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        user = services.user_create(
            username=data["username"],
            role=Role.ARTIST,
            password=data["password1"],
            email=data["email"],
            display_name=data["display_name"],
            country=data.get("country", ""),
        )
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, "Welcome to Stemvault. Contribute your first stem when ready.")
        return redirect("site:dashboard")
    return render(request, "accounts/signup.html", {"form": form})


@login_required
def account(request: HttpRequest) -> HttpResponse:
    user = request.user
    profile = getattr(user, "artist_profile", None)
    profile_form = ProfileForm(instance=profile) if profile else None
    new_token = request.session.pop("new_token", None)
    if request.method == "POST" and profile is not None:
        profile_form = ProfileForm(request.POST, instance=profile)
        if profile_form.is_valid():
            services.artist_profile_update(user=user, **profile_form.cleaned_data)  # type: ignore[arg-type]
            messages.success(request, "Profile saved.")
            return redirect("accounts:account")
    return render(
        request,
        "accounts/account.html",
        {
            "profile_form": profile_form,
            "token_form": TokenForm(),
            "tokens": user.api_tokens.all(),  # type: ignore[union-attr]
            "new_token": new_token,
        },
    )


@login_required
@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the token a name (up to 80 characters) and a scope.")
        return redirect("accounts:account")
    issued = services.token_issue(user=request.user, **form.cleaned_data)  # type: ignore[arg-type]
    # Shown once on the next page, then gone: only its hash is kept.
    request.session["new_token"] = issued.plain
    return redirect("accounts:account")


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    try:
        token = services.token_revoke(user=request.user, token_id=token_id)  # type: ignore[arg-type]
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Token “{token.name}” revoked.")
    return redirect("accounts:account")
