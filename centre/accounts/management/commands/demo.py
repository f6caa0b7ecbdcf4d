"""`vhd-centre demo`'s data: every table, the issuer's keys, a demo checkpoint and a district
administrator with a new password, then what to open (the command line serves the site after)."""

from __future__ import annotations

import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import BaseCommand

from centre.accounts.roles import DISTRICT_ADMIN
from centre.checkpoints.models import Checkpoint
from common.authority import Authority


class Command(BaseCommand):
    help = "Make the demo's data (migrated tables, keys, CP-DEMO, the user quan1) and say where to go."

    def add_arguments(self, parser):
        parser.add_argument("--listen", default="127.0.0.1:8000", help="where the site will be served")
        parser.add_argument("--out", default="demo-out/portal", help="the demo's folder")

    def handle(self, *args, **o):
        call_command("migrate", interactive=False, verbosity=0)
        authority = Authority(Path(settings.AUTHORITY_DIR))
        if not authority.exists():
            authority.init()
        Checkpoint.objects.get_or_create(checkpoint_id="CP-DEMO", defaults={
            "name": "Trường THCS Nguyễn Du - Cổng chính", "address": "12 Lê Lợi, Quận 1, TP. Hồ Chí Minh",
            "contact_phone": "0912000111", "unit": "Trường THCS Nguyễn Du", "kind": "school"})
        password = secrets.token_urlsafe(9)
        user = User.objects.filter(username="quan1").first() or User(username="quan1")
        user.set_password(password)
        user.is_staff = True
        user.save()
        user.groups.set([Group.objects.get(name=DISTRICT_ADMIN)])
        base = f"http://{o['listen']}"
        self.stdout.write(f"""VHD Gate portal demo on {base}/
  people:      {base}/khai-bao/        (sign in with any mobile number, e.g. 0912345678;
                                        the SMS code is printed here)
  checkpoint:  {base}/c/CP-DEMO/       (what the poster's QR opens)
  units:       {base}/don-vi/          (register a checkpoint; CP-DEMO's phone is 0912000111)
  district:    {base}/                 (user quan1, password {password})
  data:        {Path(o['out']).resolve()}
Ctrl-C stops it.""")
        self.stdout.flush()
