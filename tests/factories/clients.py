"""Client apps (games and players that request soundtracks and report plays) and their keys."""

from __future__ import annotations

from typing import Any

import factory
from factory.django import DjangoModelFactory

from portal.accounts.models import Role, User
from portal.clients.models import ClientApp
from tests.factories.accounts import UserFactory


class ClientAppFactory(DjangoModelFactory):
    """An app registered through `app_register` and approved by a staff account through
    `app_decide`, as the product does; `approved=False` leaves it pending."""

    class Meta:
        model = ClientApp

    owner = factory.SubFactory(UserFactory)
    name = "Test game"
    approved = True

    @classmethod
    def _create(
        cls, model_class: type[ClientApp], *args: Any, approved: bool = True, **kwargs: Any
    ) -> ClientApp:
        from portal.clients.services import app_decide, app_register

        app = app_register(**kwargs)
        if approved:
            staff = User.objects.filter(role=Role.STAFF).first() or UserFactory(
                username="app-staff", staff=True
            )
            app = app_decide(app_id=app.pk, actor=staff, status="approved")
        return app


def app_credential(app: ClientApp, name: str = "test") -> str:
    """A fresh bearer credential of an approved `app`, issued to its owner (credential_issue)."""
    from portal.clients.services import credential_issue

    return credential_issue(app_id=app.pk, actor=app.owner, name=name).plain
