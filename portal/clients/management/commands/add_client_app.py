from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.accounts.models import Role, User
from portal.clients.models import AppStatus, ClientApp
from portal.clients.services import app_decide, app_register, credential_issue
from portal.core.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Register a client app for an account; with --approve (as the first staff account) "
        "approve it and print a new credential (shown once)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--owner", required=True, help="username of the app's owner")
        parser.add_argument("--approve", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        owner = User.objects.filter(username=options["owner"]).first()
        if owner is None:
            raise CommandError(f"No user named {options['owner']!r}.")
        try:
            app = ClientApp.objects.filter(owner=owner, name=options["name"]).first()
            if app is None:
                app = app_register(owner=owner, name=options["name"])
            if not options["approve"]:
                self.stdout.write(f"{app.name} (id {app.pk}) is {app.status}.")
                return
            staff = User.objects.filter(role=Role.STAFF).order_by("pk").first()
            if staff is None:
                raise CommandError("No staff account to approve it: add one with add_user.")
            if app.status != AppStatus.APPROVED:
                app = app_decide(app_id=app.pk, actor=staff, status=AppStatus.APPROVED)
            issued = credential_issue(app_id=app.pk, actor=owner, name="cli")
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self.stdout.write(issued.plain)
