from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission

from portal.accounts.models import Role, TokenScope


def _role_permission(*roles: str) -> type[BasePermission]:
    class HasRole(BasePermission):
        message = f"This needs a {' or '.join(roles)} account."

        def has_permission(self, request: Any, view: Any) -> bool:
            user = request.user
            return bool(user and user.is_authenticated and user.role in roles)

    HasRole.__name__ = "Is" + "Or".join(role.title() for role in roles)
    return HasRole


IsArtist = _role_permission(Role.ARTIST)
IsCurator = _role_permission(Role.CURATOR, Role.STAFF)
IsStaff = _role_permission(Role.STAFF)


class FullScopeOnly(BasePermission):
    """A client app's credential (scope "app") reaches only the endpoints made for apps:
    soundtracks, plays, jobs. Everything else needs the account's own full-scope token."""

    message = "A client app's credential cannot use this endpoint; use a personal token."

    def has_permission(self, request: Any, view: Any) -> bool:
        token = getattr(request, "auth", None)
        scope = getattr(token, "scope", TokenScope.FULL)
        return scope == TokenScope.FULL or scope in getattr(view, "allowed_token_scopes", ())
