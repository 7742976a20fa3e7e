"""Accounts: a user in each role, made as sign-up makes one."""

from __future__ import annotations

from typing import Any

import factory
from factory.django import DjangoModelFactory

from portal.accounts.models import Role, User

PASSWORD = "correct-horse-battery"


class UserFactory(DjangoModelFactory):
    """An account created through `user_create`, so an artist gets the profile sign-up gives
    them. An artist unless a trait says otherwise: `UserFactory(curator=True)`, `staff=True`."""

    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.ARTIST
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.test")
    password = PASSWORD

    class Params:
        curator = factory.Trait(role=Role.CURATOR)
        staff = factory.Trait(role=Role.STAFF)

    @classmethod
    def _create(cls, model_class: type[User], *args: Any, **kwargs: Any) -> User:
        from portal.accounts.services import user_create

        return user_create(**kwargs)
