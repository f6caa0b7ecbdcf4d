"""`vhd-centre createuser`: a user of the site with one of the four roles."""

from __future__ import annotations

import getpass
import sys

from django.contrib.auth.models import Group, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from centre.accounts.models import UnitMembership
from centre.accounts.roles import ROLES, UNIT_MANAGER


class Command(BaseCommand):
    help = "Add a user with one role, or set an existing user's password and role."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--role", choices=list(ROLES), required=True)
        parser.add_argument("--unit", help="for a unit manager: the unit, as its checkpoints name it")
        parser.add_argument("--password-file", help="a file holding the password (else asked on the terminal)")

    def handle(self, *args, **o):
        if o["role"] == UNIT_MANAGER and not o["unit"]:
            raise CommandError("a unit manager needs --unit (the unit's name as its checkpoints give it)")
        try:  # Django's own rule for a user name, as its admin applies it: 150 characters at most,
            # letters, digits and @ . + - _ (a space was saved; a longer name, a database error)
            User._meta.get_field("username").clean(o["name"], None)
        except ValidationError as exc:
            raise CommandError(f"user name {o['name']!r} refused: " + " ".join(exc.messages)) from None
        password = self._password(o["name"], o["password_file"])
        user = User.objects.filter(username=o["name"]).first() or User(username=o["name"])
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise CommandError("password refused: " + " ".join(exc.messages)) from None
        user.set_password(password)
        user.is_staff = o["role"] == "district_admin"  # Django's admin for the records they keep
        user.is_superuser = False
        user.save()
        user.groups.set([Group.objects.get(name=o["role"])])
        if o["unit"]:
            UnitMembership.objects.update_or_create(user=user, defaults={"unit": o["unit"]})
        self.stdout.write(f"user {o['name']} saved with role {o['role']}")

    @staticmethod
    def _password(name: str, password_file: str | None) -> str:
        if password_file:
            from common.files import read_secret
            from mqtt_bridge.centre_api import secret_path

            try:
                return read_secret(secret_path(password_file))
            except OSError as exc:
                raise CommandError(f"cannot read --password-file {password_file}: {exc.strerror}") from None
            except ValueError as exc:
                raise CommandError(f"--password-file: {exc}") from None
        if not sys.stdin or not sys.stdin.isatty():
            raise CommandError("no terminal to ask for the password on: give --password-file FILE")
        try:
            first = getpass.getpass(f"password for {name}: ")
            if getpass.getpass("again: ") != first:
                raise CommandError("the two passwords differ")
        except (EOFError, KeyboardInterrupt):
            raise CommandError("no password given") from None
        return first
