from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.accounts.models import TokenScope, User
from portal.accounts.services import token_issue


class Command(BaseCommand):
    help = "Print a new API token for a user (shown once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="cli")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No user named {options['username']!r}.")
        issued = token_issue(user=user, name=options["name"], scope=TokenScope.FULL)
        self.stdout.write(issued.plain)
