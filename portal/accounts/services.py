"""Writes for accounts: users, profiles, tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from portal.accounts.models import ApiToken, ArtistProfile, Role, TokenScope, User
from portal.core.errors import ApplicationError, NotFound

TOKEN_PREFIX = "sv_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def user_create(
    *,
    username: str,
    role: str,
    password: str | None = None,
    email: str = "",
    display_name: str | None = None,
    country: str = "",
) -> User:
    if role not in Role.values:
        raise ApplicationError("invalid_role", f"Role must be one of {', '.join(Role.values)}.")
    if User.objects.filter(username__iexact=username).exists():
        raise ApplicationError("username_taken", f"The username {username!r} is already taken.")
    user = User(username=username, email=email, role=role, is_staff=role == Role.STAFF)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    if role == Role.ARTIST:
        artist_profile_update(
            user=user,
            display_name=display_name or username,
            country=country,
            contact_email=email,
        )
    return user


def artist_profile_update(
    *, user: User, display_name: str, country: str = "", contact_email: str = ""
) -> ArtistProfile:
    profile, _ = ArtistProfile.objects.get_or_create(
        user=user, defaults={"display_name": display_name}
    )
    profile.display_name = display_name
    profile.country = country.upper()
    profile.contact_email = contact_email
    profile.full_clean()
    profile.save()
    return profile


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    plain: str  # shown once; never stored


def token_issue(*, user: User, name: str, scope: str = TokenScope.FULL) -> IssuedToken:
    if scope not in TokenScope.values:
        raise ApplicationError(
            "invalid_scope", f"Scope must be one of {', '.join(TokenScope.values)}."
        )
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user=user,
        name=name.strip() or "token",
        prefix=plain[:10],
        key_hash=hash_token(plain),
        scope=scope,
    )
    token.full_clean()
    token.save()
    return IssuedToken(token=token, plain=plain)


def token_revoke(*, user: User, token_id: int) -> ApiToken:
    token = ApiToken.objects.filter(user=user, pk=token_id).first()
    if token is None:
        raise NotFound("token_not_found", "No such token on your account.")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def token_authenticate(plain: str) -> ApiToken | None:
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=hash_token(plain), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is not None:
        # One write a minute at most: last_used_at is for people, not an audit trail.
        now = timezone.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token
