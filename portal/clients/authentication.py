from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from portal.clients.services import CREDENTIAL_PREFIX, credential_authenticate


class AppCredentialAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer sva_...`: a client app's credential.

    request.user is the app's owner and request.auth the AppCredential; the credential reaches
    only the endpoints that list the "app" scope (see accounts.permissions.FullScopeOnly), so an
    app never acts as its owner elsewhere. Any other bearer is left to the personal-token class.
    """

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = authentication.get_authorization_header(request).split()
        if len(header) != 2 or header[0].lower() != self.keyword.lower().encode():
            return None
        plain = header[1].decode(errors="replace")
        if not plain.startswith(CREDENTIAL_PREFIX):
            return None
        credential = credential_authenticate(plain)
        if credential is None:
            raise exceptions.AuthenticationFailed(
                "This app credential is unknown or revoked, or its app is not approved "
                "(pending, suspended or rejected)."
            )
        return credential.app.owner, credential

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class AppCredentialScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "portal.clients.authentication.AppCredentialAuthentication"
    name = "appCredential"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "A client app's credential"}
