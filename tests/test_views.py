"""The site's pages through Django's test client, in this process on a SQLite centre of its own:
who may open what, sign-in by phone and code, staff look-ups, check-in idempotence, CSV. Seconds
for what the gunicorn + Chromium walks in test_site.py prove end to end for the phone flows."""

from __future__ import annotations

import csv
import io
import os
import re

import pytest

ENV = {"DJANGO_SETTINGS_MODULE": "centre.settings", "VHD_SMS_BACKEND": "locmem", "VHD_CENTRE_HOSTS": "testserver"}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Django set up once in this process on a fresh SQLite centre, migrated as `vhd-centre
    migrate` does, with an issuer key for declarations' QR codes; the environment is put back after."""
    home = tmp_path_factory.mktemp("site")
    env = {**ENV, "VHD_CENTRE_HOME": str(home), "VHD_CENTRE_DB": f"sqlite:///{home / 'site.sqlite3'}"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    import django
    from django.conf import settings

    if settings.configured and settings.DATABASES["default"]["NAME"] != str(home / "site.sqlite3"):
        pytest.fail("Django was set up in this process before these tests")
    django.setup()
    from django.core.management import call_command
    from django.test.utils import setup_test_environment, teardown_test_environment

    from common.authority import Authority

    setup_test_environment()
    call_command("migrate", interactive=False, verbosity=0)
    Authority(home / "authority").init()
    yield home
    teardown_test_environment()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


_ADDRESSES = iter(range(1, 250))


@pytest.fixture
def client(site):
    """A browser of its own: its own address, so the per-address limits of one test are not
    spent by another's."""
    from django.test import Client

    return Client(REMOTE_ADDR=f"192.0.2.{next(_ADDRESSES)}")


def _staff(username: str, role: str | None, unit: str | None = None):
    from django.contrib.auth.models import Group, User

    from centre.accounts.models import UnitMembership

    user, _ = User.objects.get_or_create(username=username)
    user.set_password("mat-khau-2021")
    user.is_staff = role == "district_admin"  # as vhd-centre createuser makes them
    user.save()
    user.groups.set([Group.objects.get(name=role)] if role else [])
    if unit:
        UnitMembership.objects.update_or_create(user=user, defaults={"unit": unit})
    return user


def _code(phone: str) -> str:
    """The last code sent to `phone` (a unit's goes out from a thread: waited for, 5 s at most)."""
    import time

    from centre.portal import sms

    deadline = time.monotonic() + 5
    while not (texts := [text for to, text in sms.outbox if to == phone]) and time.monotonic() < deadline:
        time.sleep(0.01)
    return re.search(r"\b(\d{6})\b", texts[-1]).group(1)


def _sign_in_by_phone(client, phone: str, kind: str = "person", code: str | None = None):
    """Ask for a code and type it (or `code`): the response to the code's page."""
    start, confirm = ("/khai-bao/dang-nhap/", "/khai-bao/xac-nhan/") if kind == "person" else \
        ("/don-vi/dang-nhap/", "/don-vi/xac-nhan/")
    r = client.post(start, {"phone": phone})
    assert r.status_code == 302 and confirm in r["Location"], r.content[:500]
    return client.post(confirm, {"code": code or _code(phone)})


def _checkpoint(checkpoint_id="CP-V1", phone="0912000111", unit="Trường THCS Nguyễn Du", approved=True):
    from django.utils import timezone

    from centre.checkpoints.models import Checkpoint

    return Checkpoint.objects.update_or_create(checkpoint_id=checkpoint_id, defaults={
        "name": f"{unit} - Cổng chính", "contact_phone": phone, "unit": unit, "kind": "school",
        "approved_at": timezone.now() if approved else None, "approved_by": "quan1" if approved else None})[0]


STAFF_PAGES = ["/fleet/", "/live/", "/checkpoints/", "/checkpoints/new/", "/reports/", "/trace/", "/audit/",
               "/follow-up/", "/admin/auth/user/"]
# What each role opens (200); every other staff page answers 403 (or, in the admin, sends to its login).
MATRIX = {
    "district_admin": set(STAFF_PAGES),
    "tracer": {"/checkpoints/", "/trace/", "/live/"},
    "unit_manager": {"/checkpoints/", "/reports/", "/live/"},
    "technician": {"/fleet/", "/checkpoints/", "/live/"},
    None: set(),  # an account without a role
}


@pytest.mark.parametrize("role", list(MATRIX))
def test_each_role_opens_its_pages_and_no_other(client, role):
    _checkpoint()
    client.force_login(_staff(f"user-{role}", role))
    for page in STAFF_PAGES:
        status = client.get(page).status_code
        if page in MATRIX[role]:
            assert status == 200, (role, page, status)
        else:
            assert status in (302, 403) if page.startswith("/admin/") else status == 403, (role, page, status)


def test_nobody_signed_in_is_sent_to_sign_in_and_people_and_units_get_no_staff_page(client):
    for page in STAFF_PAGES[:-1]:
        r = client.get(page)
        assert r.status_code == 302 and r["Location"].startswith("/accounts/login/?next="), page
    for kind, phone in (("person", "0987000001"), ("unit", "0912000111")):
        _checkpoint()
        r = _sign_in_by_phone(client, phone, kind)
        assert r.status_code == 302
        for page in STAFF_PAGES[:-1]:
            assert client.get(page).status_code == 403, (kind, page)
        assert client.get("/admin/").status_code == 302  # the admin's own sign-in, not its pages
        client.post("/khai-bao/dang-xuat/" if kind == "person" else "/don-vi/dang-xuat/")


def test_a_phone_signs_in_with_its_code_once_and_a_wrong_code_never(client):
    from django.contrib.auth.models import User

    phone = "0987000002"
    r = client.get("/khai-bao/cua-toi/")
    assert r.status_code == 302 and r["Location"] == "/khai-bao/dang-nhap/?next=/khai-bao/cua-toi/"
    code = None
    r = client.post("/khai-bao/dang-nhap/", {"phone": phone, "next": "/khai-bao/cua-toi/"})
    code = _code(phone)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    r = client.post("/khai-bao/xac-nhan/", {"code": wrong})
    assert r.status_code == 200 and "_auth_user_id" not in client.session  # refused, says why
    assert "giữ đăng nhập trong 30 ngày" in r.content.decode()  # says how long it stays signed in
    assert client.get("/khai-bao/cua-toi/").status_code == 302
    r = client.post("/khai-bao/xac-nhan/", {"code": code, "next": "/khai-bao/cua-toi/"})
    assert r.status_code == 302 and r["Location"] == "/khai-bao/cua-toi/"
    assert client.session.get_expiry_age() == 30 * 86400  # not an SMS code every morning at the door
    page = client.get("/khai-bao/cua-toi/")
    assert page.status_code == 200 and phone not in page.content.decode()  # the tail only
    assert set(page["Cache-Control"].split(", ")) == {"private", "no-store"}  # no Back after sign-out
    user = User.objects.get(pk=client.session["_auth_user_id"])
    assert phone not in user.username and not user.has_usable_password() and not user.is_staff
    assert not user.get_all_permissions()
    client.post("/khai-bao/dang-xuat/")
    assert client.get("/khai-bao/cua-toi/").status_code == 302
    assert _sign_in_by_phone(client, phone, code=code).status_code == 200  # a spent code opens nothing
    assert "_auth_user_id" not in client.session
    # The same phone signing in again is the same account.
    assert _sign_in_by_phone(client, phone).status_code == 302
    assert User.objects.filter(phone_account__phone=phone).count() == 1


def test_five_wrong_codes_spend_the_code(client, site):
    phone = "0987000003"
    client.post("/khai-bao/dang-nhap/", {"phone": phone})
    code = _code(phone)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(5):
        client.post("/khai-bao/xac-nhan/", {"code": wrong})
    r = client.post("/khai-bao/xac-nhan/", {"code": code})
    assert r.status_code == 200 and "_auth_user_id" not in client.session


def test_staff_look_up_is_audited_and_a_check_in_is_stored_once(client):
    from centre.ledger.models import Checkin
    from centre.portal.models import Declaration
    from centre.reports.models import AuditEntry

    cp = _checkpoint("CP-V2", "0912000222", "Chợ Bến Thành")
    assert _sign_in_by_phone(client, "0912000222", "unit").status_code == 302
    d = Declaration.declare({"full_name": "Lý Văn Tư", "citizen_id": "079140002222", "passport": "",
                             "birth_year": 1950, "sex": "M", "nationality": "Việt Nam", "province": "TP. HCM",
                             "district": "Quận 1", "commune": "Bến Thành", "address_line": "", "insurance_no": "",
                             "symptoms": False, "exposure": False, "travel": False},
                            "0944333222", "0944333222", None)
    before = AuditEntry.objects.filter(action=AuditEntry.LOOKUP).count()
    page = client.post(f"/don-vi/{cp.checkpoint_id}/nhan-vien/", {"phone": "0944333222"}).content.decode()
    assert "Lý Văn Tư" in page or "LÝ VĂN TƯ" in page.upper()
    entry = AuditEntry.objects.filter(action=AuditEntry.LOOKUP).first()
    assert AuditEntry.objects.filter(action=AuditEntry.LOOKUP).count() == before + 1
    assert entry.target == "0944333222" and entry.username.endswith(f"at {cp.checkpoint_id}")
    event_id = re.search(r'name="event_id" value="([^"]+)"', page).group(1)
    # kept by no cache: the unit's shared phone showed the last person again on Back after sign-out
    looked_up = client.post(f"/don-vi/{cp.checkpoint_id}/nhan-vien/", {"phone": "0944333222"})
    assert set(looked_up["Cache-Control"].split(", ")) == {"private", "no-store"}
    form = {"declaration_id": d.declaration_id, "direction": "in", "event_id": event_id}
    for _ in range(2):  # the same form sent twice (a double tap, a resend): one check-in
        assert client.post(f"/don-vi/{cp.checkpoint_id}/nhan-vien/", form).status_code == 200
    assert Checkin.objects.filter(subject=d.declaration_id).count() == 1
    # Another unit's checkpoint is not this unit's to look people up at.
    other = _checkpoint("CP-V3", "0912000333", "Bệnh viện Quận 1")
    assert client.post(f"/don-vi/{other.checkpoint_id}/nhan-vien/", {"phone": "0944333222"}).status_code == 404


def test_report_csv_escapes_formulas_and_is_audited(client):
    from django.utils import timezone

    from centre.reports.figures import TZ
    from centre.reports.models import AuditEntry

    _checkpoint("CP-V4", "0912000444", "=HYPERLINK(\"http://evil.example\")")
    client.force_login(_staff("quan1", "district_admin"))
    today = timezone.localtime(timezone=TZ).date()
    r = client.get(f"/reports/?date_from={today}&date_to={today}&by=checkpoint&format=csv")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode())))
    unit = next(row["unit"] for row in rows if row["checkpoint_id"] == "CP-V4")
    assert unit.startswith("'=")  # read as text by a spreadsheet, not run
    assert AuditEntry.objects.filter(action=AuditEntry.REPORT_EXPORT, username="quan1").exists()


def test_staff_password_sign_in_and_sign_out(client):
    _staff("kythuat", "technician")
    r = client.post("/accounts/login/", {"username": "kythuat", "password": "mat-khau-2021"})
    assert r.status_code == 302 and client.get("/fleet/").status_code == 200
    assert client.session.get_expiry_age() == 8 * 3600  # staff: a working day, not a phone's month
    r = client.get("/accounts/logout/")  # opened by hand: the button, not a bare 405 (a link signs nobody out)
    assert r.status_code == 200 and 'method="post"' in r.content.decode()
    assert client.get("/fleet/").status_code == 200
    assert client.post("/accounts/logout/").status_code == 302 and client.get("/fleet/").status_code == 302


def test_the_user_list_shows_staff_not_phones(client):
    _sign_in_by_phone(client, "0987000009")
    from django.contrib.auth.models import User

    assert User.objects.filter(phone_account__isnull=False).exists()
    client.force_login(_staff("quan2", "district_admin"))
    page = client.get("/admin/auth/user/").content.decode()
    assert "quan2" in page and "person-" not in page and "unit-" not in page


def test_retention_forgets_idle_phone_accounts_that_hold_nothing(client):
    from datetime import timedelta

    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.utils import timezone

    from centre.portal.models import Declaration, PhoneAccount

    for phone in ("0987000021", "0987000022"):
        assert _sign_in_by_phone(client, phone).status_code == 302
        client.post("/khai-bao/dang-xuat/")
    kept = PhoneAccount.objects.get(phone="0987000022")
    Declaration.declare({"full_name": "Trần Thị B", "citizen_id": "079203009999", "passport": "",
                         "birth_year": 1980, "sex": "F", "nationality": "Việt Nam", "province": "TP. HCM",
                         "district": "Quận 3", "commune": "Phường 1", "address_line": "", "insurance_no": "",
                         "symptoms": False, "exposure": False, "travel": False}, kept.phone, kept.phone, None)
    User.objects.filter(phone_account__phone__in=("0987000021", "0987000022")).update(
        last_login=timezone.now() - timedelta(days=40))
    out = io.StringIO()
    call_command("retention", stdout=out)
    assert "1 idle phone account(s)" in out.getvalue()
    assert list(PhoneAccount.objects.filter(phone__in=("0987000021", "0987000022")).values_list("phone", flat=True)) \
        == ["0987000022"]


def test_spent_codes_and_old_attempts_are_forgotten_within_the_hour(client):
    """A code and its count hold a phone number and an address: kept while a limit counts them."""
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    from centre.accounts.models import LoginAttempt
    from centre.portal.models import SmsCode

    hour_ago = timezone.now() - timedelta(hours=1, minutes=1)
    for phone in ("0966000301", "0966000302"):
        assert client.post("/khai-bao/dang-nhap/", {"phone": phone}).status_code == 302
        SmsCode.objects.filter(phone=phone).update(created_at=hour_ago, expires_at=hour_ago + timedelta(minutes=5))
    old = list(LoginAttempt.objects.filter(at__gte=timezone.now() - timedelta(minutes=5)).values_list("pk", flat=True))
    LoginAttempt.objects.filter(pk__in=old).update(at=hour_ago)
    live = SmsCode.objects.create(phone="0966000303", purpose="person", code_hash="x",
                                  expires_at=timezone.now() + timedelta(minutes=5))
    assert client.post("/khai-bao/dang-nhap/", {"phone": "0966000301"}).status_code == 302  # a new code for it
    assert not SmsCode.objects.filter(phone="0966000302").exists()  # forgotten when any code is asked for
    assert list(SmsCode.objects.filter(phone="0966000301", created_at__lt=timezone.now() - timedelta(hours=1))) == []
    assert not LoginAttempt.objects.filter(pk__in=old).exists()
    from django.contrib.sessions.models import Session
    from django.test import Client

    Session.objects.all().delete()
    _sign_in_by_phone(client, "0966000304")
    ended = client.session.session_key
    Session.objects.filter(session_key=ended).update(expire_date=hour_ago)  # a month later, never signed out
    _sign_in_by_phone(Client(REMOTE_ADDR="198.51.100.7"), "0966000305")  # a session still running
    SmsCode.objects.filter(phone="0966000301").update(created_at=hour_ago, expires_at=hour_ago)
    out = io.StringIO()
    call_command("retention", stdout=out)  # and by the daily retention, on a quiet day
    assert "1 spent sign-in code(s), 1 ended session(s)" in out.getvalue()
    assert SmsCode.objects.filter(pk=live.pk).exists()  # a code still running is kept
    assert list(Session.objects.values_list("session_key", flat=True)) != [] and \
        not Session.objects.filter(session_key=ended).exists()  # Django left ended sessions for ever


def test_every_post_needs_its_csrf_token(site):
    from django.test import Client

    _staff("truyvet", "tracer")
    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/accounts/login/", {"username": "truyvet", "password": "mat-khau-2021"}).status_code == 403
    assert strict.post("/khai-bao/dang-nhap/", {"phone": "0987000031"}).status_code == 403
    page = strict.get("/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    assert strict.post("/accounts/login/", {"username": "truyvet", "password": "mat-khau-2021",
                                            "csrfmiddlewaretoken": token}).status_code == 302


def test_codes_are_limited_in_tries_and_in_number(client):
    phone = "0355555555"
    client.post("/khai-bao/dang-nhap/", {"phone": phone})
    code = _code(phone)
    answers = [client.post("/khai-bao/xac-nhan/", {"code": f"{n:06d}"}).content.decode() for n in range(1, 8)
               if f"{n:06d}" != code][:6]
    assert "Sai mã" in answers[0] and "quá nhiều" in answers[-1].lower()  # the sixth try: a new code is needed
    assert client.post("/khai-bao/xac-nhan/", {"code": code}).status_code == 200  # spent, even right
    for _ in range(2):
        client.post("/khai-bao/dang-nhap/", {"phone": phone})
    r = client.post("/khai-bao/dang-nhap/", {"phone": phone})  # the fourth in 15 minutes
    assert r.status_code == 200 and "quá nhiều" in r.content.decode().lower()
    assert client.post("/khai-bao/dang-nhap/", {"phone": "0123"}).status_code == 200  # not a mobile number


def test_an_ipv6_client_counts_by_its_64_not_by_each_address_it_takes(site):
    """A phone or a server holds a whole IPv6 /64: new addresses from it do not buy new SMS codes."""
    from django.conf import settings
    from django.test import Client

    def ask(address: str, n: int) -> int:
        r = Client(REMOTE_ADDR=address).post("/khai-bao/dang-nhap/", {"phone": f"03{n:08d}"})
        return r.status_code

    limit = settings.SMS_MAX_PER_ADDRESS
    assert [ask(f"2001:db8:7:9::{n:x}", n) for n in range(limit)] == [302] * limit
    assert ask("2001:db8:7:9:ffff:1:2:3", limit) == 200  # the same /64: refused, too many codes
    assert ask("2001:db8:7:a::1", limit + 1) == 302  # the next /64 is someone else
    assert [ask("::ffff:198.18.7.4", limit + 2 + n) for n in range(limit)] == [302] * limit
    assert ask("198.18.7.4", 2 * limit + 2) == 200  # an IPv4 address written as IPv6 is itself


def test_a_database_error_in_the_log_does_not_quote_the_row(site, pg_url):
    """PostgreSQL's DETAIL line quotes the row it refused: the site's log (its handler as the
    settings make it) keeps the error and its traceback, never the phone number."""
    import logging
    import sys

    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as db:
        db.execute("CREATE TEMP TABLE phones (phone text UNIQUE)")
        phone = "09" + "12345678"  # not written whole here: the traceback quotes this file's lines
        db.execute("INSERT INTO phones VALUES (%s)", (phone,))
        try:
            db.execute("INSERT INTO phones VALUES (%s)", (phone,))
        except psycopg.errors.UniqueViolation:
            failure = sys.exc_info()
    assert "0912345678" in str(failure[1])  # what the database said
    record = logging.getLogger("django.request").makeRecord(
        "django.request", logging.ERROR, __file__, 1, "Internal Server Error: %s\n%s", ("/khai-bao/", failure[1]),
        failure)
    (handler,) = [h for h in logging.getLogger().handlers if type(h) is logging.StreamHandler]  # the settings' own
    assert handler.filter(record)
    text = handler.format(record)
    assert "UniqueViolation" in text and "duplicate key value" in text and "Traceback" in text
    assert "0912345678" not in text


def test_follow_up_list_for_the_district_is_audited(client):
    from django.test import Client

    from centre.reports.models import AuditEntry

    assert _sign_in_by_phone(client, "0777777777").status_code == 302
    r = client.post("/khai-bao/to-khai/moi/", {**DECLARATION, "full_name": "Lê Văn Sốt", "citizen_id": "079190000001",
                                                "symptoms": "yes"})
    assert r.status_code == 302
    client.post("/khai-bao/to-khai/moi/", {**DECLARATION, "citizen_id": "079190000002"})
    admin = Client()
    admin.force_login(_staff("quan3", "district_admin"))
    page = admin.get("/follow-up/").content.decode()
    assert "Lê Văn Sốt" in page and "Nguyễn Thị Vân Anh" not in page
    assert AuditEntry.objects.filter(action=AuditEntry.LOOKUP, username="quan3").exists()
    assert Client().get("/follow-up/")["Location"] == "/accounts/login/?next=/follow-up/"


def test_the_district_deletes_a_followed_up_declaration_on_request_with_the_request_audited(client):
    """The portal keeps a declaration with a "yes" answer for follow-up and tells the person to ask
    the district to delete it sooner: a district administrator deletes it from the follow-up list,
    the request written down in the audit log; the gates are told (deleted_declarations). Tracers
    and units cannot; a request left empty deletes nothing."""
    from django.test import Client

    from centre.ledger.models import DeletedDeclaration
    from centre.portal.models import Declaration
    from centre.reports.models import AuditEntry

    assert _sign_in_by_phone(client, "0777777701").status_code == 302
    client.post("/khai-bao/to-khai/moi/", {**DECLARATION, "full_name": "Trịnh Văn Ho", "citizen_id": "079190000701",
                                           "exposure": "yes"})
    d = Declaration.objects.get(full_name="Trịnh Văn Ho")
    path = f"/follow-up/{d.declaration_id}/xoa/"
    assert client.post(f"/khai-bao/to-khai/{d.declaration_id}/xoa/").status_code == 409  # kept for follow-up
    for role in ("tracer", "unit_manager", "technician"):
        other = Client()
        other.force_login(_staff(f"khong-xoa-{role}", role, unit="Trường THCS Nguyễn Du"))
        assert other.post(path, {"request_note": "Gọi điện ngày 30/11"}).status_code == 403, role
    admin = Client()
    admin.force_login(_staff("quan7", "district_admin"))
    assert f'href="{path}"' in admin.get("/follow-up/").content.decode()
    asked = admin.get(path).content.decode()
    assert 'id="follow-up-delete-confirm"' in asked and "Trịnh Văn Ho" in asked
    empty = admin.post(path, {"request_note": ""})
    assert empty.status_code == 200 and 'id="error-summary"' in empty.content.decode()
    assert Declaration.objects.filter(pk=d.pk).exists()
    done = admin.post(path, {"request_note": "Anh Ho gọi điện ngày 30/11, đã hết triệu chứng"})
    assert done.status_code == 200 and 'id="follow-up-deleted"' in done.content.decode()
    assert not Declaration.objects.filter(pk=d.pk).exists()
    assert DeletedDeclaration.objects.filter(pk=d.declaration_id).exists()  # the gates refuse its QR
    entry = AuditEntry.objects.get(action=AuditEntry.DELETION, target=d.declaration_id)
    assert entry.username == "quan7" and entry.reason.startswith("Anh Ho gọi điện")
    assert admin.post(path, {"request_note": "lần nữa"}).status_code == 404  # pressed again: nothing left


def test_one_throttle_on_every_sign_in_path_slows_the_guesser_not_the_owner(site):
    """Wrong passwords through Django's admin count as they do on the sign-in page; past the
    limit even the right one is refused from that address, while the owner signs in elsewhere."""
    from django.test import Client

    _staff("quan9", "district_admin")
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    wrong = [attacker.post("/admin/login/", {"username": "quan9", "password": f"sai-{i}", "next": "/admin/"})
             for i in range(6)]
    assert [r.status_code for r in wrong] == [200] * 6  # the form again, each time
    attacker.post("/admin/login/", {"username": "quan9", "password": "mat-khau-2021", "next": "/admin/"})
    assert "_auth_user_id" not in attacker.session  # the right password no longer opens the admin here
    r = attacker.post("/accounts/login/", {"username": "quan9", "password": "mat-khau-2021"})
    assert r.status_code == 429  # the site's own page says why
    owner = Client(REMOTE_ADDR="198.51.100.7")
    r = owner.post("/accounts/login/", {"username": "quan9", "password": "mat-khau-2021"})
    assert r.status_code == 302 and "_auth_user_id" in owner.session  # not locked out by someone else


def test_staff_change_their_own_password_and_their_other_sessions_end(site):
    """The password createuser gave is changed by its owner: the current one checked as a sign-in
    checks it (throttled), Django's rules for the new one, the other sessions signed out, this one
    kept, the change in the audit log. A phone's account has no password to change."""
    from django.test import Client

    from centre.reports.models import AuditEntry

    _staff("doimatkhau1", "tracer")
    here, elsewhere = Client(REMOTE_ADDR="198.51.100.21"), Client(REMOTE_ADDR="198.51.100.22")
    for c in (here, elsewhere):
        assert c.post("/accounts/login/", {"username": "doimatkhau1", "password": "mat-khau-2021"}).status_code == 302
    assert 'href="/accounts/password/"' in here.get("/trace/").content.decode()  # from every staff page

    def change(old: str, new: str, again: str | None = None):
        return here.post("/accounts/password/", {"old_password": old, "new_password1": new,
                                                 "new_password2": again or new})

    r = change("sai-mat-khau", "mot-mat-khau-moi-2021")
    assert r.status_code == 200 and "Mật khẩu cũ không chính xác" in r.content.decode()
    assert "Mật khẩu này quá phổ biến" in change("mat-khau-2021", "password123").content.decode()
    assert "không giống nhau" in change("mat-khau-2021", "mot-mat-khau-moi-2021", "mot-mat-khau-khac").content.decode()
    r = change("mat-khau-2021", "mot-mat-khau-moi-2021")
    assert r.status_code == 302 and r["Location"] == "/accounts/password/done/"
    assert "Đã đổi mật khẩu" in here.get(r["Location"]).content.decode()
    assert here.get("/accounts/ping/").status_code == 200  # this session stays
    assert elsewhere.get("/accounts/ping/").status_code == 302  # the other one is signed out
    assert Client().login(username="doimatkhau1", password="mot-mat-khau-moi-2021")
    assert not Client().login(username="doimatkhau1", password="mat-khau-2021")
    entry = AuditEntry.objects.filter(action=AuditEntry.PASSWORD).first()
    assert entry.username == "doimatkhau1" and entry.target == "doimatkhau1"
    # Guessing from a session left open is throttled as guessing at the sign-in page is
    _staff("doimatkhau2", "tracer")
    guesser = Client(REMOTE_ADDR="203.0.113.23")
    guesser.force_login(_staff("doimatkhau2", "tracer"))
    new = {"new_password1": "mot-mat-khau-moi-2021", "new_password2": "mot-mat-khau-moi-2021"}
    answers = [guesser.post("/accounts/password/", {"old_password": f"doan-{i}", **new}).content.decode()
               for i in range(7)]
    assert "quá nhiều lần: hãy chờ 15 phút" in answers[-1] and "quá nhiều lần" not in answers[0]
    r = guesser.post("/accounts/password/", {"old_password": "mat-khau-2021", **new})
    assert r.status_code == 200 and "quá nhiều lần" in r.content.decode()  # even the right one, from here, for now
    assert Client().login(username="doimatkhau2", password="mat-khau-2021")  # unchanged
    # a phone's account: no password, no page; nobody signed in: the sign-in page
    person = Client(REMOTE_ADDR="198.51.100.24")
    _sign_in_by_phone(person, "0912000321")
    assert person.get("/accounts/password/").status_code == 403
    assert Client().get("/accounts/password/")["Location"].startswith("/accounts/login/")
    admin = Client()
    admin.force_login(_staff("doimatkhau3", "district_admin"))  # Django's admin links to its own form
    assert admin.get("/admin/password_change/")["Location"] == "/accounts/password/"


def test_a_phone_signs_out_the_other_phones_signed_in_with_its_number(site):
    """A person, or a unit, signed in on a new phone ends the sessions of the others (a lost phone
    keeps a person's 30 days); the phone that asked stays signed in. Only a POST does it."""
    from django.test import Client

    _checkpoint("CP-V20", "0912000194", "Quán nước Cô Chín")
    for kind, phone, mine, path in (("person", "0912000322", "/khai-bao/cua-toi/", "/khai-bao/dang-xuat-noi-khac/"),
                                    ("unit", "0912000194", "/don-vi/cua-toi/", "/don-vi/dang-xuat-noi-khac/")):
        lost, found = Client(REMOTE_ADDR="198.51.100.31"), Client(REMOTE_ADDR="198.51.100.32")
        _sign_in_by_phone(lost, phone, kind)
        _sign_in_by_phone(found, phone, kind)
        assert lost.get(mine).status_code == found.get(mine).status_code == 200
        assert 'action="' + path + '"' in found.get(mine).content.decode()
        assert found.get(path)["Location"] == mine and lost.get(mine).status_code == 200  # a link does nothing
        r = found.post(path)
        assert r.status_code == 200 and 'id="signed-out-elsewhere"' in r.content.decode()
        assert found.get(mine).status_code == 200
        assert lost.get(mine).status_code == 302, kind  # signed out
    assert Client().post("/khai-bao/dang-xuat-noi-khac/")["Location"].startswith("/khai-bao/dang-nhap/")


def test_the_district_manages_its_users_without_superuser_powers(client):
    from django.contrib.auth.models import User

    admin = _staff("quan4", "district_admin")
    root = User.objects.filter(username="root").first() or User.objects.create_superuser("root", password="goc-123456")
    client.force_login(admin)
    assert client.get("/admin/auth/user/").status_code == 200
    form = client.get(f"/admin/auth/user/{admin.pk}/change/").content.decode()
    assert 'name="is_superuser"' not in form and 'name="user_permissions"' not in form
    root_page = client.get(f"/admin/auth/user/{root.pk}/change/")
    assert root_page.status_code == 200 and 'name="username"' not in root_page.content.decode()  # read only
    assert client.get(f"/admin/auth/user/{root.pk}/password/").status_code == 403  # a superuser's to change
    r = client.post("/admin/auth/user/add/", {"username": "truyvet2", "password1": "mot-mat-khau-dai-9",
                                              "password2": "mot-mat-khau-dai-9", "usable_password": "true"})
    assert r.status_code == 302 and User.objects.filter(username="truyvet2").exists()


def test_a_number_past_what_the_database_holds_is_a_request_not_understood(client):
    """SQLite holds 64-bit integers: a 30-digit id in the admin's list filters or actions raised
    OverflowError in the driver, a 500. It is a 400 page, and nothing is changed."""
    from django.contrib.auth.models import User

    client.force_login(_staff("quan5", "district_admin"))
    big = "9" * 30
    for path in (f"/admin/auth/user/?groups={big}", f"/admin/auth/user/?id__in={big}",
                 f"/admin/accounts/unitmembership/?user={big}"):
        r = client.get(path)
        assert r.status_code == 400 and 'id="error-400"' in r.content.decode(), path
    client.force_login(User.objects.filter(username="root").first()
                       or User.objects.create_superuser("root", password="goc-123456"))  # may delete users
    users = User.objects.count()
    r = client.post("/admin/auth/user/", {"action": "delete_selected", "_selected_action": [big, "1"]})
    assert r.status_code == 400 and User.objects.count() == users


@pytest.mark.parametrize("next_page, lands", [
    ("/c/CP-V1/", "/c/CP-V1/"), ("/c/CP-V1/?a=1&b=2", "/c/CP-V1/?a=1&b=2"), ("//evil.example", "/khai-bao/cua-toi/"),
    ("/\\evil.example", "/khai-bao/cua-toi/"), ("https://evil.example/c/", "/khai-bao/cua-toi/")])
def test_the_portal_sends_people_back_only_to_its_own_pages(client, next_page, lands):
    """A sign-in link's `next` may name a page of the site; "//host", "/\\host" (which browsers read
    as another host) and absolute addresses go to "Tờ khai của tôi" instead."""
    phone = f"09870001{abs(hash(next_page)) % 100:02d}"
    client.post("/khai-bao/dang-nhap/", {"phone": phone, "next": next_page})
    r = client.post("/khai-bao/xac-nhan/", {"code": _code(phone), "next": next_page})
    assert r.status_code == 302 and r["Location"] == lands


DECLARATION = {"full_name": "Nguyễn Thị Vân Anh", "citizen_id": "079203001234", "birth_year": "1990", "sex": "F",
               "nationality": "Việt Nam", "province_code": "79", "ward_code": "26740",
               "address_line": "12 Lê Lợi", "phone": "",
               "insurance_no": "DN4797900123456", "relation": "", "symptoms": "no", "exposure": "no", "travel": "no",
               "consent": "on"}


def test_the_orm_and_the_bridge_agree_on_times_on_sqlite(site):
    """A declaration the command line stored (the bridge's text) and one the portal stored compare
    by the instant, not by how their text sorts: one expiring a minute from now is valid, one a
    minute ago is not, on the same day."""
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from centre.portal.models import Declaration
    from mqtt_bridge.centre_api import store_on
    from protocol.event import format_time

    now = timezone.now()
    connection.ensure_connection()
    store = store_on(connection.vendor, connection.connection)
    for suffix, delta in (("SOON", 1), ("GONE", -1)):
        store.add_declaration({"declaration_id": f"VHD-CLI-{suffix}", "full_name": "Người dân", "birth_year": 1990,
                               "sex": "M", "expires_at": format_time(now + timedelta(minutes=delta))})
    valid = set(Declaration.objects.filter(declaration_id__startswith="VHD-CLI-", expires_at__gt=now)
                .values_list("declaration_id", flat=True))
    assert valid == {"VHD-CLI-SOON"}
    d = Declaration.objects.get(pk="VHD-CLI-SOON")
    d.renew()  # written by the ORM: the bridge's text, read back as the same instant
    with connection.cursor() as cursor:
        cursor.execute("SELECT expires_at FROM declarations WHERE declaration_id = 'VHD-CLI-SOON'")
        assert cursor.fetchone()[0] == format_time(d.expires_at)
    # Renewed for fewer days than a printed card's QR has left, it keeps the card's expiry: the
    # stored expiry is the latest of every QR made (how long gates refuse it once deleted).
    card_expiry = Declaration.objects.get(pk="VHD-CLI-SOON").expires_at + timedelta(days=60)
    Declaration.objects.filter(pk="VHD-CLI-SOON").update(expires_at=card_expiry)
    d = Declaration.objects.get(pk="VHD-CLI-SOON")
    d.renew()
    assert d.expires_at == card_expiry == Declaration.objects.get(pk="VHD-CLI-SOON").expires_at


def test_declaring_from_a_checkpoints_page_goes_back_there_and_nowhere_else(client):
    _checkpoint()
    assert _sign_in_by_phone(client, "0987000041").status_code == 302
    r = client.post("/khai-bao/to-khai/moi/?next=/c/CP-V1/", {**DECLARATION, "citizen_id": "079190000041"})
    assert r.status_code == 302 and r["Location"] == "/c/CP-V1/"
    for elsewhere in ("//evil.example/c/CP-V1/", "/khai-bao/cua-toi/"):
        r = client.post(f"/khai-bao/to-khai/moi/?next={elsewhere}", {**DECLARATION, "citizen_id": "079190000042"})
        assert r.status_code == 302 and r["Location"].startswith("/khai-bao/to-khai/VHD-"), elsewhere


def test_a_poster_comes_only_in_the_formats_it_is_made_in(client):
    cp = _checkpoint("CP-V5", "0912000555", "Nhà thuốc An Khang")
    assert _sign_in_by_phone(client, "0912000555", "unit").status_code == 302
    r = client.get(f"/don-vi/{cp.checkpoint_id}/poster.pdf")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    assert r["Content-Disposition"] == f'attachment; filename="poster-{cp.checkpoint_id}.pdf"'
    for fmt in ("svg", 'png"; x="y', "png\r\nSet-Cookie: a=b", "PNG", "png.exe"):
        from urllib.parse import quote

        assert client.get(f"/don-vi/{cp.checkpoint_id}/poster.{quote(fmt)}").status_code == 404, fmt
    client.force_login(_staff("quan5", "district_admin"))
    assert client.get(f"/checkpoints/{cp.checkpoint_id}/poster.svg").status_code == 404


def test_a_check_in_form_sent_again_elsewhere_stores_and_shows_nothing(client):
    """The same form pressed twice shows the one check-in stored, with its date; its event id sent
    to another checkpoint (or for another direction) is refused, and nothing is stored there."""
    from centre.ledger.models import Checkin

    a, b = _checkpoint("CP-V6", "0912000666", "Trường A"), _checkpoint("CP-V7", "0912000777", "Trường B")
    assert _sign_in_by_phone(client, "0987000051").status_code == 302
    client.post("/khai-bao/to-khai/moi/", {**DECLARATION, "citizen_id": "079190000051"})
    page = client.get(f"/c/{a.checkpoint_id}/").content.decode()
    form = {"declaration_id": re.search(r'name="declaration_id" value="([^"]+)"', page).group(1),
            "event_id": re.search(r'name="event_id" value="([^"]+)"', page).group(1), "direction": "in"}
    first = client.post(f"/c/{a.checkpoint_id}/", form)
    again = client.post(f"/c/{a.checkpoint_id}/", form)
    assert first.status_code == again.status_code == 200
    stored = Checkin.objects.get(event_id=form["event_id"])
    from django.utils import timezone

    shown = timezone.localtime(stored.scanned_at).strftime("%H:%M %d/%m/%Y")
    assert shown in first.content.decode() and shown in again.content.decode()
    assert client.post(f"/c/{b.checkpoint_id}/", form).status_code == 400  # replayed at another door
    assert client.post(f"/c/{a.checkpoint_id}/", {**form, "direction": "out"}).status_code == 400
    assert list(Checkin.objects.filter(subject=form["declaration_id"]).values_list("checkpoint_id", "direction")) \
        == [(a.checkpoint_id, "in")]


def test_unit_sign_in_answers_alike_for_registered_numbers_and_others(site):
    """The page, the code's answers and the limit on codes are the same whether or not a checkpoint
    has the number; only a registered number gets an SMS."""
    from django.test import Client

    from centre.portal import sms
    from centre.portal.models import SmsCode

    _checkpoint("CP-V8", "0912000888", "Quán cơm Bình Dân")
    answers = {}
    for phone in ("0912000888", "0912000999"):  # registered, and not
        c = Client(REMOTE_ADDR=f"198.51.100.{phone[-1]}")
        r = c.post("/don-vi/dang-nhap/", {"phone": phone})
        wrong = c.post("/don-vi/xac-nhan/", {"code": "000000"})
        assert "đăng nhập trong" not in wrong.content.decode()  # a unit's session is a working day's
        for _ in range(2):
            c.post("/don-vi/dang-nhap/", {"phone": phone})
        fourth = c.post("/don-vi/dang-nhap/", {"phone": phone})
        answers[phone] = (r.status_code, r["Location"], wrong.status_code, wrong.content.decode().count("Sai mã"),
                          fourth.status_code, "quá nhiều" in fourth.content.decode().lower(),
                          SmsCode.objects.filter(phone=phone, purpose="unit").count())
    assert answers["0912000888"] == answers["0912000999"] == (302, "/don-vi/xac-nhan/", 200, 1, 200, True, 3)
    _code("0912000888")
    assert not [to for to, _ in sms.outbox if to == "0912000999"]  # nothing sent to a number nobody registered


def test_a_self_registered_unit_looks_nobody_up_until_the_district_approves_it(client):
    """Registering on the portal gives a poster at once, but staff look-ups wait for the district's
    review; then they are limited per unit, and the audit log flags unusual volume."""
    from django.test import Client, override_settings

    from centre.checkpoints.models import Checkpoint
    from centre.portal.models import Declaration
    from centre.reports.models import AuditEntry

    r = client.post("/don-vi/", {"name": "Tiệm tạp hoá Lạ", "kind": "shop", "address": "1 Đường Lạ",
                                 "province_code": "79", "ward_code": "27316", "contact_person": "Phan Văn Lạ",
                                 "phone": "0912000990"})
    assert r.status_code == 302
    assert client.post("/don-vi/xac-nhan/", {"code": _code("0912000990")}).status_code == 302
    cp = Checkpoint.objects.get(contact_phone="0912000990")
    assert cp.approved_at is None and cp.contact_person == "Phan Văn Lạ"
    assert (cp.province_code, cp.ward_code, cp.address) == (79, 27316, "1 Đường Lạ, Phường An Đông, "
                                                                         "Thành phố Hồ Chí Minh")
    assert client.get(f"/don-vi/{cp.checkpoint_id}/poster.png").status_code == 200  # the poster works already
    r = client.post(f"/don-vi/{cp.checkpoint_id}/nhan-vien/", {"phone": "0944333222"})
    assert r.status_code == 403 and not AuditEntry.objects.filter(username__endswith=cp.checkpoint_id).exists()
    # nor declares for anyone: it could put declarations under any phone number
    r = client.post(f"/don-vi/{cp.checkpoint_id}/khai-ho/", {**DECLARATION, "person_phone": "0944333299"})
    assert r.status_code == 403 and "khai báo hộ" in r.content.decode()
    assert not Declaration.objects.filter(owner_phone="0944333299").exists()
    district = Client()
    district.force_login(_staff("quan6", "district_admin"))
    assert cp.checkpoint_id in district.get("/checkpoints/review/").content.decode()
    for role in ("tracer", "unit_manager", "technician"):  # only the district approves
        other = Client()
        other.force_login(_staff(f"review-{role}", role))
        assert other.post("/checkpoints/review/", {"checkpoint_id": cp.checkpoint_id}).status_code == 403
    assert district.post("/checkpoints/review/", {"checkpoint_id": cp.checkpoint_id}).status_code == 302
    cp.refresh_from_db()
    assert cp.approved_by == "quan6" and cp.checkpoint_id not in district.get("/checkpoints/review/").content.decode()
    assert AuditEntry.objects.filter(action=AuditEntry.APPROVAL, username="quan6").exists()
    with override_settings(STAFF_LOOKUPS_PER_HOUR=4, STAFF_LOOKUPS_FLAGGED=3):
        statuses = [client.post(f"/don-vi/{cp.checkpoint_id}/nhan-vien/", {"phone": f"094433300{i}"}).status_code
                    for i in range(6)]
    assert statuses == [200] * 4 + [429] * 2
    flags = AuditEntry.objects.filter(action=AuditEntry.ALERT, username__endswith=cp.checkpoint_id)
    assert flags.count() == 1 and "3 look-ups" in flags.get().reason
    assert AuditEntry.objects.filter(action=AuditEntry.LOOKUP, username__endswith=cp.checkpoint_id).count() == 4


def test_a_declaration_says_what_a_name_or_address_may_not_hold_and_stores_nothing(client):
    from centre.portal.models import Declaration

    assert _sign_in_by_phone(client, "0987000061").status_code == 302
    before = Declaration.objects.count()
    page = client.get("/khai-bao/to-khai/moi/").content.decode()
    assert 'maxlength="200"' not in page  # a browser would cut a pasted address without a word
    for fields, message in (({"full_name": "Nguyễn Văn A 😀"}, "không có số, ký hiệu hay biểu tượng cảm xúc"),
                            ({"address_line": "12 Lê Lợi " * 27}, "200"),
                            ({"citizen_id": "07920300123"}, "12")):
        r = client.post("/khai-bao/to-khai/moi/", {**DECLARATION, **fields})
        text = r.content.decode()
        assert r.status_code == 200 and message in text, fields
        if "citizen_id" in fields:  # one message, not a second misleading one
            assert "CCCD hoặc số hộ chiếu" not in text and "citizen id or a passport" not in text
    assert Declaration.objects.count() == before


def test_staff_declare_someone_without_a_phone_and_print_their_card_again_by_name(client):
    """A walk-in with no phone at all gets a card valid as long as the district says; later the
    staff find it by name and birth year (only among cards made at this checkpoint) and print it."""
    from datetime import timedelta

    from django.test import Client, override_settings
    from django.utils import timezone

    from centre.portal.models import Declaration

    cp = _checkpoint("CP-V9", "0912000191", "Chợ Tân Định")
    other = _checkpoint("CP-V10", "0912000192", "Chợ Bà Chiểu")
    assert _sign_in_by_phone(client, "0912000191", "unit").status_code == 302
    walk_in = {**DECLARATION, "full_name": "Lý Thị Mười", "citizen_id": "", "passport": "B1234567",
               "birth_year": "1941", "person_phone": ""}
    with override_settings(PRINTED_CARD_DAYS=60):
        r = client.post(f"/don-vi/{cp.checkpoint_id}/khai-ho/", walk_in)
    assert r.status_code == 200 and 'id="staff-card"' in r.content.decode()
    d = Declaration.objects.get(full_name="Lý Thị Mười")
    assert d.owner_phone is None and d.phone is None
    assert abs(d.expires_at - (timezone.now() + timedelta(days=60))) < timedelta(minutes=1)
    qr = re.search(r'src="(/don-vi/[^"]+\.png)"', r.content.decode()).group(1)
    assert client.get(qr)["Content-Type"] == "image/png"
    # The other checkpoint's staff do not find it; this one's do, and print it again.
    elsewhere = Client(REMOTE_ADDR="192.0.2.250")
    assert _sign_in_by_phone(elsewhere, "0912000192", "unit").status_code == 302
    page = elsewhere.post(f"/don-vi/{other.checkpoint_id}/in-lai/", {"full_name": "lý thị mười", "birth_year": "1941"})
    assert 'id="none-found"' in page.content.decode()
    page = client.post(f"/don-vi/{cp.checkpoint_id}/in-lai/", {"full_name": "LÝ THỊ  MƯỜI", "birth_year": "1941"})
    assert d.declaration_id in page.content.decode()
    Declaration.objects.filter(pk=d.pk).update(expires_at=timezone.now() - timedelta(days=1))
    with override_settings(PRINTED_CARD_DAYS=30):
        r = client.post(f"/don-vi/{cp.checkpoint_id}/in-lai/", {"declaration_id": d.declaration_id})
    assert r.status_code == 200 and 'id="staff-card"' in r.content.decode()
    d.refresh_from_db()
    assert d.expires_at > timezone.now() + timedelta(days=29)  # valid again
    assert elsewhere.post(f"/don-vi/{other.checkpoint_id}/in-lai/",
                          {"declaration_id": d.declaration_id}).status_code == 404
    # A person who writes this checkpoint's mark as a relative's relation does not make the
    # relative's declaration one of this checkpoint's cards: its staff never find it, nor renew it.
    person = Client(REMOTE_ADDR="192.0.2.251")
    assert _sign_in_by_phone(person, "0987000191").status_code == 302
    person.post("/khai-bao/to-khai/moi/", {**DECLARATION, "full_name": "Phan Văn Tám", "citizen_id": "079150001919",
                                           "birth_year": "1950", "relation": f"({cp.checkpoint_id}) Chợ Tân Định"})
    assert Declaration.objects.get(full_name="Phan Văn Tám").on_behalf_of.startswith(f"({cp.checkpoint_id})")
    page = client.post(f"/don-vi/{cp.checkpoint_id}/in-lai/", {"full_name": "Phan Văn Tám", "birth_year": "1950"})
    assert 'id="none-found"' in page.content.decode()


def test_walk_ins_declared_before_the_mark_keep_the_old_reading_once(site):
    """Upgrading (portal 0006): a declaration an older release's staff made, whose text starts
    with "(CP-ID)", is marked as that checkpoint's; a relative's and one naming no checkpoint are not."""
    from django.core.management import call_command

    from centre.portal.models import Declaration

    cp = _checkpoint("CP-V12", "0912000112", "Nhà văn hóa")
    person = {"full_name": "Đỗ Văn Chín", "citizen_id": "", "passport": "C7654321", "birth_year": 1939, "sex": "M",
              "nationality": "Việt Nam", "province": "TP. HCM", "district": "", "commune": "Phường Sài Gòn",
              "address_line": "", "insurance_no": "", "symptoms": False, "exposure": False, "travel": False}
    before = [Declaration.declare(person, None, None, text).pk
              for text in (f"({cp.checkpoint_id}) {cp.name}", "mẹ", "(CP-NOWHERE) Chợ")]
    call_command("migrate", "portal", "0005", verbosity=0)
    call_command("migrate", "portal", verbosity=0)
    assert [Declaration.objects.get(pk=pk).made_at for pk in before] == [cp.checkpoint_id, None, None]
    # SQLite rebuilt the declarations table both ways, without its triggers: the one recording
    # deletions for the gates is made again after every migrate
    from centre.ledger.models import DeletedDeclaration

    Declaration.objects.filter(pk=before[2]).delete()
    assert DeletedDeclaration.objects.filter(pk=before[2]).exists()


def test_a_person_deletes_a_declaration_of_theirs_and_only_theirs(client):
    """The page on personal data said to delete one's data in "Tờ khai của tôi", which could not.
    Now a declaration's page leads to deleting it: it goes at once, its check-ins stay their days
    for tracing (the page says so, and that a printed QR is read until its date); another phone's
    does not exist for this one; one with a "yes" answer stays for the district's follow-up."""
    from django.test import Client

    from centre.ledger.models import Checkin, DeletedDeclaration
    from centre.portal.models import Declaration

    _checkpoint("CP-V13", "0912000113", "Chợ Xóm Chiếu")
    assert _sign_in_by_phone(client, "0987000113").status_code == 302
    client.post("/khai-bao/to-khai/moi/", {**DECLARATION, "full_name": "Mai Văn Một", "citizen_id": "079190001313",
                                           "relation": "con"})
    client.post("/khai-bao/to-khai/moi/", {**DECLARATION, "full_name": "Mai Thị Hai", "citizen_id": "079190002323",
                                           "symptoms": "yes"})
    gone, kept = (Declaration.objects.get(full_name=n) for n in ("Mai Văn Một", "Mai Thị Hai"))
    page = client.get("/c/CP-V13/").content.decode()
    event_id = re.search(rf'value="{gone.declaration_id}".*?name="event_id" value="([^"]+)"', page, re.S).group(1)
    client.post("/c/CP-V13/", {"declaration_id": gone.declaration_id, "direction": "in", "event_id": event_id})
    assert 'id="delete"' in client.get(f"/khai-bao/to-khai/{gone.declaration_id}/").content.decode()

    other = Client(REMOTE_ADDR="192.0.2.252")
    assert _sign_in_by_phone(other, "0987000114").status_code == 302
    assert other.post(f"/khai-bao/to-khai/{gone.declaration_id}/xoa/").status_code == 404  # not theirs
    asked = client.get(f"/khai-bao/to-khai/{gone.declaration_id}/xoa/").content.decode()
    assert "truy vết đến hết 21 ngày" in asked and "sẽ từ chối mã QR" in asked and 'id="delete-confirm"' in asked
    done = client.post(f"/khai-bao/to-khai/{gone.declaration_id}/xoa/")
    assert done.status_code == 200 and f"({gone.declaration_id}) đã được xoá" in done.content.decode()
    assert not Declaration.objects.filter(pk=gone.pk).exists()
    listed = DeletedDeclaration.objects.get(pk=gone.declaration_id)  # for the bridges to send to the gates
    assert listed.until == gone.expires_at
    assert Checkin.objects.filter(subject=gone.declaration_id).count() == 1  # kept its days, for tracing
    assert client.get(f"/khai-bao/to-khai/{gone.declaration_id}/").status_code == 404
    assert client.post(f"/khai-bao/to-khai/{gone.declaration_id}/xoa/").status_code == 404  # pressed again
    assert "Mai Văn Một" not in client.get("/khai-bao/cua-toi/").content.decode()

    refused = client.post(f"/khai-bao/to-khai/{kept.declaration_id}/xoa/")
    assert refused.status_code == 409 and 'id="delete-kept"' in refused.content.decode()
    assert Declaration.objects.filter(pk=kept.pk).exists()  # on the district's follow-up list still


def test_one_phone_has_a_few_checkpoints_waiting_for_review_not_hundreds(client):
    from centre.portal import sms
    from centre.portal.units import MAX_WAITING_PER_PHONE

    for n in range(MAX_WAITING_PER_PHONE):
        _checkpoint(f"CP-WAIT-{n}", "0912000777", f"Quầy {n}", approved=False)
    form = {"name": "Quầy mới", "kind": "shop", "address": "2 Đường Lạ", "province_code": "79", "ward_code": "27316",
            "contact_person": "Phan Văn Lạ", "phone": "0912000777"}
    page = client.post("/don-vi/", form).content.decode()
    assert f"đã có {MAX_WAITING_PER_PHONE} điểm kiểm dịch đang chờ" in page
    assert not [to for to, _ in sms.outbox if to == "0912000777"]  # no code sent, nothing pending
    _checkpoint("CP-WAIT-0", "0912000777", "Quầy 0")  # the district approves one
    assert client.post("/don-vi/", form).status_code == 302


def test_walk_ins_a_unit_declares_are_counted_and_fill_no_ones_phone(client):
    from django.test import override_settings

    from centre.portal.models import MAX_LIVE_PER_PHONE, Declaration

    cp = _checkpoint("CP-V11", "0912000193", "Chợ Xóm Chiếu")
    assert _sign_in_by_phone(client, "0912000193", "unit").status_code == 302
    walk_in = {**DECLARATION, "full_name": "Lê Văn Khách", "citizen_id": "", "passport": "B7654321",
               "person_phone": ""}
    with override_settings(STAFF_DECLARATIONS_PER_HOUR=2):
        pages = [client.post(f"/don-vi/{cp.checkpoint_id}/khai-ho/", walk_in).content.decode() for _ in range(3)]
    assert ['id="staff-card"' in p for p in pages] == [True, True, False]
    assert "khai báo hộ quá nhiều lần trong một giờ" in pages[2]
    for n in range(MAX_LIVE_PER_PHONE):  # someone's phone already holding all it may
        Declaration.declare({**DECLARATION, "full_name": "Người Nhà", "citizen_id": "", "passport": f"C{n:07d}",
                             "province": "TP. HCM", "district": None, "commune": None, "insurance_no": "",
                             "symptoms": False, "exposure": False, "travel": False}, "0944555666", None, None)
    page = client.post(f"/don-vi/{cp.checkpoint_id}/khai-ho/", {**walk_in, "person_phone": "0944555666"})
    assert 'id="staff-card"' not in page.content.decode() and f"đã giữ {MAX_LIVE_PER_PHONE} tờ khai" in \
        page.content.decode()
    assert Declaration.objects.filter(owner_phone="0944555666").count() == MAX_LIVE_PER_PHONE


def test_dates_are_vietnamese_and_the_trace_forms_default_period_shows_today(client):
    from django.utils import timezone

    from centre.portal.checkins import new_event_id, store_checkin, web_event
    from centre.portal.models import Declaration
    from centre.reports.figures import TZ

    client.force_login(_staff("quan7", "district_admin"))
    cp = _checkpoint("CP-V11", "0912000211", "Nhà văn hoá")
    for typed in ("05/11/2026", "2026-11-05", "05-11-2026"):  # 5 November, however typed, in either language
        for language in ("vi", "en"):
            client.cookies["django_language"] = language
            r = client.get(f"/reports/?date_from={typed}&format=csv")
            days = {row["day"] for row in csv.DictReader(io.StringIO(r.content.decode()))}
            assert days == {"2026-11-05"}, (typed, language, days)
    client.cookies["django_language"] = "vi"
    d = Declaration(declaration_id="VHD-2026-TRACE", full_name="Người Được Truy Vết")
    assert store_checkin(web_event(cp.checkpoint_id, d, "in", new_event_id(), "staff")) is not None
    page = client.get("/trace/").content.decode()
    today = timezone.localtime(timezone=TZ).date()
    assert f'value="{today.isoformat()}"' in page  # "to" is today by default, not empty
    first = (today - timezone.timedelta(days=13)).strftime("%d/%m/%Y")
    r = client.post("/trace/", {"person": "VHD-2026-TRACE", "date_from": first, "max_stay_hours": "4",
                                "reason": "Ca F0 số 12, công văn 3/TTYT"})
    assert r.status_code == 200 and "CP-V11" in r.content.decode()  # today's visit, with "to" left empty
    for far in ("31/12/9999", "01/01/0001"):  # a day past the period or a stay before it overflowed: a 500
        r = client.post("/trace/", {"person": "VHD-2026-TRACE", "date_from": far, "date_to": far,
                                    "max_stay_hours": "4", "reason": "Ca F0 số 12, công văn 3/TTYT"})
        assert r.status_code == 200 and 'id="trace-result"' not in r.content.decode(), far
        assert "2000" in r.content.decode() or "2099" in r.content.decode(), far  # the bound it is outside


def test_a_phone_keeps_a_households_declarations_not_thousands(client):
    from django.utils import timezone

    from centre.portal.models import MAX_LIVE_PER_PHONE, Declaration

    assert _sign_in_by_phone(client, "0766000111").status_code == 302
    for n in range(MAX_LIVE_PER_PHONE):
        r = client.post("/khai-bao/to-khai/moi/", {**DECLARATION, "citizen_id": f"0792030{n:05d}"})
        assert r.status_code == 302, n
    page = client.post("/khai-bao/to-khai/moi/", {**DECLARATION, "citizen_id": "079203099999"}).content.decode()
    assert f"đã giữ {MAX_LIVE_PER_PHONE} tờ khai còn hiệu lực" in page and 'id="error-summary"' in page
    mine = Declaration.objects.filter(owner_phone="0766000111")
    assert mine.count() == MAX_LIVE_PER_PHONE
    old = mine.first()
    mine.filter(pk=old.pk).update(expires_at=timezone.now())  # one has expired: room for another
    assert client.post("/khai-bao/to-khai/moi/", {**DECLARATION, "citizen_id": "079203099999"}).status_code == 302
    r = client.post(f"/khai-bao/to-khai/{old.declaration_id}/gia-han/")  # nor by renewing the expired one
    assert r.status_code == 409 and f"đã giữ {MAX_LIVE_PER_PHONE} tờ khai" in r.content.decode()
    assert mine.filter(expires_at__gt=timezone.now()).count() == MAX_LIVE_PER_PHONE
    live = mine.filter(expires_at__gt=timezone.now()).first()
    assert client.post(f"/khai-bao/to-khai/{live.declaration_id}/gia-han/").status_code == 302  # a valid one renews


def test_health_questions_need_an_answer_and_nothing_is_stored_without_consent(client):
    from centre.portal.models import Declaration

    assert _sign_in_by_phone(client, "0987000071").status_code == 302
    before = Declaration.objects.count()
    unanswered = {k: v for k, v in DECLARATION.items() if k != "exposure"}
    r = client.post("/khai-bao/to-khai/moi/", {**unanswered, "citizen_id": "079190000071"})
    assert r.status_code == 200 and "Hãy trả lời Có hoặc Không." in r.content.decode()
    r = client.post("/khai-bao/to-khai/moi/", {**DECLARATION, "citizen_id": "079190000071", "consent": ""})
    assert r.status_code == 200 and Declaration.objects.count() == before
    page = client.get("/khai-bao/du-lieu-ca-nhan/").content.decode()
    assert "21" in page and "Nghị định 13/2023/NĐ-CP" in page  # what is kept, how long, under which rules
    r = client.post("/khai-bao/to-khai/moi/", {**DECLARATION, "citizen_id": "079190000071", "travel": "yes"})
    assert r.status_code == 302
    d = Declaration.objects.get(citizen_id="079190000071")
    assert (d.symptoms, d.exposure, d.travel) == (False, False, True)


def test_refusals_and_missing_pages_speak_vietnamese(client):
    _staff("kythuat2", "technician")
    client.force_login(_staff("kythuat2", "technician"))
    r = client.get("/reports/")
    assert r.status_code == 403 and "Bạn không mở được trang này" in r.content.decode()
    r = client.get("/khong-co-trang-nay/")
    assert r.status_code == 404 and "Không tìm thấy trang" in r.content.decode()


def test_a_database_out_of_reach_is_a_503_that_says_nothing_was_saved(client, site, caplog):
    """The site's database gone (stopped, restarting, a failover): a 500 page said "nothing you
    sent is lost" while nothing was stored, and each request logged a traceback. Now it is a 503
    with Retry-After saying to send it again, one log line each, and the site is itself again as
    soon as the database is back."""
    from django.db import connection

    from centre.portal import sms

    phone = "0987000031"
    saved = connection.settings_dict["NAME"]
    connection.close()
    connection.settings_dict["NAME"] = str(site / "no-such-folder" / "site.sqlite3")  # really out of reach
    try:
        client.get("/khai-bao/dang-nhap/")
        with caplog.at_level("WARNING"):
            r = client.post("/khai-bao/dang-nhap/", {"phone": phone})
    finally:
        connection.close()
        connection.settings_dict["NAME"] = saved
    page = r.content.decode()
    assert r.status_code == 503 and r["Retry-After"] == "60"
    assert "chưa được lưu" in page and "gửi lại sau một phút" in page  # not saved: send it again
    said = [rec for rec in caplog.records if rec.name == "centre.database"]
    assert [rec.getMessage() for rec in said] == ["database unavailable: unable to open database file"]
    assert not any(rec.exc_info for rec in caplog.records)  # one line, no traceback
    assert not [text for to, text in sms.outbox if to == phone]
    r = client.post("/khai-bao/dang-nhap/", {"phone": phone})
    assert r.status_code == 302 and _code(phone)  # back as soon as the database is


def test_the_poster_names_the_unit_once_and_its_steps_fit_a_door_without_a_gate():
    from PIL import ImageDraw

    from common import poster

    drawn: list[str] = []
    original = ImageDraw.ImageDraw.text

    def spy(self, xy, text, *args, **kwargs):
        drawn.append(text)
        return original(self, xy, text, *args, **kwargs)

    ImageDraw.ImageDraw.text = spy
    try:
        poster.render_poster("CP-1A2B3C4D", "Tiệm tạp hoá Cô Ba", "5 Nguyễn Trãi", "0933111222", "Tiệm tạp hoá Cô Ba")
    finally:
        ImageDraw.ImageDraw.text = original
    assert sum("Tiệm tạp hoá Cô Ba" in t for t in drawn) == 1
    assert any("điện thoại" in step and "Check-in" in step for step in poster.STEPS)
    assert any("nhân viên" in step for step in poster.STEPS)


def test_the_code_comes_in_vietnamese_with_its_diacritics_or_plain_by_setting(client):
    from django.test import override_settings

    from centre.portal import sms

    client.post("/khai-bao/dang-nhap/", {"phone": "0987000081"})
    text = [t for to, t in sms.outbox if to == "0987000081"][-1]
    assert text.startswith("VHD: mã xác nhận ") and "phút" in text and len(text) <= 70  # one Unicode SMS
    with override_settings(SMS_PLAIN=True):
        client.post("/khai-bao/dang-nhap/", {"phone": "0987000082"})
    text = [t for to, t in sms.outbox if to == "0987000082"][-1]
    assert text.startswith("VHD: ma xac nhan ") and text.isascii()


def test_addresses_by_the_official_units_and_their_codes_old_addresses_too(client):
    """A declaration keeps its province's and ward's national codes (vietnam-provinces, July 2025);
    a ward of another province is refused; an address from before July 2025 is kept as its
    district and commune in words, under its province's code. Without JavaScript, "Chọn" shows
    the form again with the province's wards and no mistakes marked; with it, portal.js reads the
    same list as JSON. The district's follow-up list narrows by code."""
    from django.test import Client

    from centre.portal.models import Declaration

    assert _sign_in_by_phone(client, "0987000071").status_code == 302
    before = Declaration.objects.count()
    page = client.get("/khai-bao/to-khai/moi/").content.decode()
    assert '<option value="79">Thành phố Hồ Chí Minh</option>' in page and "Phường Sài Gòn" not in page
    page = client.post("/khai-bao/to-khai/moi/", {**DECLARATION, "pick": "1", "ward_code": ""}).content.decode()
    assert '<option value="26740">Phường Sài Gòn</option>' in page and 'id="error-summary"' not in page
    assert 'value="Nguyễn Thị Vân Anh"' in page  # what was typed is kept
    assert Declaration.objects.count() == before
    for fields, message in (({"ward_code": "70"}, "26740"),  # Phường Hoàn Kiếm is in Hà Nội, not here
                            ({"ward_code": ""}, "trước tháng 7/2025"),
                            ({"province_code": "2"}, ""),
                            ({"email": "van@ví-dụ.vn"}, "chữ Latin")):
        r = client.post("/khai-bao/to-khai/moi/", {**DECLARATION, **fields})
        assert r.status_code == 200 and 'id="error-summary"' in r.content.decode(), fields
        assert message in r.content.decode(), fields
    assert Declaration.objects.count() == before
    r = client.post("/khai-bao/to-khai/moi/", {**DECLARATION, "citizen_id": "079190007001", "symptoms": "yes",
                                                "email": "Van.Anh@Example.VN"})
    new = Declaration.objects.get(citizen_id="079190007001")
    assert (new.province_code, new.ward_code, new.province, new.commune, new.district, new.email) == (
        79, 26740, "Thành phố Hồ Chí Minh", "Phường Sài Gòn", None, "van.anh@example.vn")
    client.post("/khai-bao/to-khai/moi/", {**DECLARATION, "citizen_id": "079190007002", "symptoms": "yes",
                                           "ward_code": "", "district": "Quận Thanh Xuân",
                                           "commune": "Phường Khương Trung", "province_code": "1"})
    old = Declaration.objects.get(citizen_id="079190007002")
    assert (old.province_code, old.ward_code, old.district, old.commune, old.province) == (
        1, None, "Quận Thanh Xuân", "Phường Khương Trung", "Thành phố Hà Nội")
    r = client.get("/dia-ban/79.json")
    assert r["Cache-Control"].startswith("public") and [26740, "Phường Sài Gòn"] in r.json()["wards"]
    assert client.get("/dia-ban/2.json").status_code == 404
    district = Client()
    district.force_login(_staff("quan7", "district_admin"))
    page = district.get("/follow-up/?province_code=79&ward_code=26740").content.decode()
    assert "079190007001" not in page and new.place in page and "Khương Trung" not in page
    page = district.get("/follow-up/?province_code=1").content.decode()
    assert "Quận Thanh Xuân" in page and "Phường Sài Gòn" not in page


def test_a_unit_registers_with_its_ward_from_the_official_list(client):
    """A unit registering itself must pick its ward; the district's own form offers the same lists."""
    from django.test import Client

    from centre.checkpoints.models import Checkpoint

    form = {"name": "Quán Phở Hạnh", "kind": "restaurant", "address": "3 Hàng Bài", "contact_person": "Đỗ Hạnh",
            "phone": "0912000881", "province_code": "1"}
    page = client.get("/don-vi/").content.decode()
    assert 'name="contact_person"' in page and 'name="ward_code"' in page and 'name="district"' not in page
    page = client.post("/don-vi/", form).content.decode()
    assert 'id="error-summary"' in page and '<option value="70">Phường Hoàn Kiếm</option>' in page
    assert client.post("/don-vi/", {**form, "ward_code": "70"}).status_code == 302
    assert client.post("/don-vi/xac-nhan/", {"code": _code("0912000881")}).status_code == 302
    cp = Checkpoint.objects.get(contact_phone="0912000881")
    assert (cp.province_code, cp.ward_code, cp.address) == (1, 70, "3 Hàng Bài, Phường Hoàn Kiếm, Thành phố Hà Nội")
    district = Client()
    district.force_login(_staff("quan8", "district_admin"))
    form = {"checkpoint_id": "CP-PHUONG", "name": "Trạm y tế phường", "address": "1 Tràng Thi", "unit": "Trạm y tế",
            "contact_person": "", "contact_phone": "", "province_code": "1"}
    page = district.post("/checkpoints/new/", {**form, "pick": "1"}).content.decode()
    assert '<option value="70">Phường Hoàn Kiếm</option>' in page and "errorlist" not in page
    assert district.post("/checkpoints/new/", {**form, "ward_code": "70"}).status_code == 302
    assert (Checkpoint.objects.get(pk="CP-PHUONG").province_code, Checkpoint.objects.get(pk="CP-PHUONG").ward_code) \
        == (1, 70)
    assert district.post("/checkpoints/new/", {**form, "checkpoint_id": "CP-NOCODE", "province_code": ""}
                         ).status_code == 302  # the codes are asked, not required, of the district's own
    for field, bad in (("name", "Chợ\n[trust]"), ("unit", "Chợ\u202eA"), ("address", "1\tTràng Thi"),
                       ("contact_person", "An\x7f")):  # one line: what a poster, a gate's config and screen carry
        page = district.post("/checkpoints/new/", {**form, "checkpoint_id": "CP-2LINES", "province_code": "",
                                                   field: bad}).content.decode()
        assert "Một dòng chữ, không có ký tự điều khiển." in page, field
    assert not Checkpoint.objects.filter(pk="CP-2LINES").exists()


def test_addresses_and_passports_hold_letters_and_digits_only(client):
    """An address, an old district or commune, a nationality, a relation and a unit's name hold
    Latin letters (Vietnamese's), ASCII digits and an address's punctuation; a passport Latin
    letters and digits: anything else is refused with a message saying so, and nothing is stored."""
    from centre.portal.models import Declaration

    assert _sign_in_by_phone(client, "0987000081").status_code == 302
    before = Declaration.objects.count()
    for fields in ({"address_line": "12 Lê Lợi 🏠"}, {"address_line": "١٢ Lê Lợi"},
                   {"ward_code": "", "district": "Quận Ba Đình", "commune": "Phường\u202eĐội Cấn"},
                   {"nationality": "Việt Nam ★"}, {"relation": "mẹ 💕"}, {"passport": "В1234567"},
                   {"passport": "C１２３４５６７", "citizen_id": ""}):
        page = client.post("/khai-bao/to-khai/moi/", {**DECLARATION, **fields}).content.decode()
        assert 'id="error-summary"' in page and ("biểu tượng cảm xúc" in page or "hộ chiếu" in page), fields
    assert Declaration.objects.count() == before
    client.post("/khai-bao/to-khai/moi/", {**DECLARATION, "citizen_id": "", "passport": " c 1234567 ",
                                           "address_line": "  Số 12/3,  ngõ 45   Lê Lợi ", "full_name": "Ana Lúcia"})
    d = Declaration.objects.get(passport="C1234567")
    assert d.address_line == "Số 12/3, ngõ 45 Lê Lợi"


def test_the_floor_view_reads_the_session_and_its_user_only(client):
    """/accounts/ping/ (the benchmarks' floor): the session's user and nothing else; nobody
    signed in is sent to sign in."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    assert client.get("/accounts/ping/")["Location"] == "/accounts/login/?next=/accounts/ping/"
    assert _sign_in_by_phone(client, "0987000091").status_code == 302
    with CaptureQueriesContext(connection) as queries:
        r = client.get("/accounts/ping/")
    assert r.status_code == 200 and r.content == b"ok\n" and r["Cache-Control"] == "no-store"
    assert len(queries) == 2, [q["sql"] for q in queries]  # the session, its user


def test_the_live_page_shows_the_busiest_checkpoints_first_a_page_at_a_time_with_every_total(client):
    """Hundreds of checkpoints: the totals count them all, the cards come 30 a page, busiest first,
    and a unit manager's count only its own unit's."""
    from django.utils import timezone

    from centre.checkpoints.models import Checkpoint
    from centre.fleet import LIVE_PER_PAGE
    from centre.ledger.models import CheckinHour
    from centre.reports.figures import TZ

    today, now = timezone.localtime(timezone=TZ).date(), timezone.now()
    Checkpoint.objects.bulk_create([Checkpoint(checkpoint_id=f"CP-LIVE-{i:03d}", name=f"Điểm {i:03d}",
                                               unit="Phường Đông" if i < 5 else "Phường Tây") for i in range(130)])
    CheckinHour.objects.bulk_create([CheckinHour(day=today, checkpoint_id=f"CP-LIVE-{i:03d}", hour=8, ins=i + 1,
                                                 outs=1, last_at=now) for i in range(130)])
    client.force_login(_staff("live-district", "district_admin"))
    page = client.get("/live/").content.decode()
    total = client.get("/live/cards/").context
    assert total["in"] >= sum(range(1, 131)) and total["checkpoints"] >= 130
    cards = re.findall(r"<small>(CP-LIVE-\d+)</small>", page)
    assert len(cards) == LIVE_PER_PAGE == 30 and cards[:2] == ["CP-LIVE-129", "CP-LIVE-128"]
    first = page.split("<small>CP-LIVE-129</small>", 1)[1].split("</svg>", 1)[0]
    assert ">130</span>" in first and timezone.localtime(now, TZ).strftime("%H:%M:%S") in first
    assert 'd="M80 60v-60h8v60z"' in first  # the 08:00 bar, the day's tallest
    last = re.findall(r"<small>(CP-[A-Z0-9-]+)</small>", client.get("/live/cards/?page=5").content.decode())
    assert "CP-LIVE-000" in last and 'href="?page=2"' in client.get("/live/?page=3").content.decode()
    assert 'data-src="/live/cards/?page=3"' in client.get("/live/?page=3").content.decode()
    client.force_login(_staff("live-unit", "unit_manager", "Phường Đông"))
    mine = client.get("/live/cards/").context
    assert (mine["checkpoints"], mine["in"], mine["out"]) == (5, 15, 5)


def test_a_trace_lists_the_100_most_exposed_contacts_and_the_csv_all_of_them(client):
    """250 people shared a checkpoint with the person traced: the page lists the 100 longest
    together (most exposed first) and says so; the CSV has every one."""
    from datetime import UTC, datetime, timedelta

    from django.db import connection

    from centre.reports.views import TRACE_SHOWN
    from mqtt_bridge.centre_api import store_on
    from protocol.event import Event, format_time, uuid7

    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)

    def ev(n, subject, direction, when):
        return Event.from_dict(dict(
            event_id=uuid7(int(when.timestamp() * 1000), n.to_bytes(10, "big")), device_id="gate-tr",
            checkpoint_id="CP-TR", direction=direction, kind="vhd", subject=subject,
            display_name="<script>alert(1)</script>" if n == 508 else f"Người {n}",  # a gate's text: escaped
            scanned_at=format_time(when), mono_ns=n, boot_id="b", time_synced=True, firmware="0.1.0"))

    events = [ev(1, "VHD-TRACED", "in", start), ev(2, "VHD-TRACED", "out", start + timedelta(hours=3))]
    for k in range(250):  # two by two, each pair a minute longer than the one before
        events += [ev(10 + 2 * k, f"VHD-NEAR-{k:03d}", "in", start + timedelta(minutes=1)),
                   ev(11 + 2 * k, f"VHD-NEAR-{k:03d}", "out", start + timedelta(minutes=2 + k // 2))]
    connection.ensure_connection()
    store_on(connection.vendor, connection.connection).insert_checkins(events)
    client.force_login(_staff("trace-many", "tracer"))
    form = {"person": "VHD-TRACED", "date_from": (start - timedelta(days=1)).strftime("%d/%m/%Y"),
            "date_to": (start + timedelta(days=1)).strftime("%d/%m/%Y"), "max_stay_hours": "4",
            "reason": "Ca bệnh số 250"}
    page = client.post("/trace/", form).content.decode()
    listed = re.findall(r"<td>(VHD-NEAR-\d+)</td>", page)
    assert len(listed) == TRACE_SHOWN == 100 and 'id="contacts-shown"' in page
    assert set(listed) == {f"VHD-NEAR-{k:03d}" for k in range(150, 250)} and listed[0] in ("VHD-NEAR-248",
                                                                                         "VHD-NEAR-249")
    assert "(250)" in page and "<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>" in page and "<script>alert" not in page
    assert re.search(r"<td>CP-TR</td><td>[-0-9]+ [0-9:]+</td><td>[-0-9]+ [0-9:]+</td><td>(Yes|Có)</td>", page)  # visit
    rows = list(csv.DictReader(io.StringIO(client.post("/trace/", {**form, "export": "1"}).content.decode())))
    assert sum(r["type"] == "contact" for r in rows) == 250


def test_a_report_of_hundreds_of_checkpoints_comes_100_rows_a_page_with_totals_of_all(client):
    """250 checkpoints on one day: the table has 100 rows a page (page 3 the last 50), the totals
    count every row, the pager keeps the period, and the CSV has all 250."""
    from datetime import UTC, datetime, timedelta

    from django.db import connection

    from centre.checkpoints.models import Checkpoint
    from centre.reports.figures import TZ
    from centre.reports.views import REPORT_PER_PAGE
    from mqtt_bridge.centre_api import store_on
    from protocol.event import Event, format_time, uuid7

    Checkpoint.objects.bulk_create([Checkpoint(checkpoint_id=f"CP-RP-{i:03d}", name=f"Điểm {i:03d}", unit="Phường")
                                    for i in range(250)])
    when = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    day = when.astimezone(TZ).date()
    events = [Event.from_dict(dict(event_id=uuid7(int(when.timestamp() * 1000), (0xAB00 + k).to_bytes(10, "big")),
                                   device_id="gate-rp", checkpoint_id=f"CP-RP-{k % 7:03d}", direction="in",
                                   kind="vhd", subject=f"VHD-RP-{k}", display_name="Người",
                                   scanned_at=format_time(when), mono_ns=k, boot_id="b", time_synced=True,
                                   firmware="0.1.0")) for k in range(30)]
    connection.ensure_connection()
    store_on(connection.vendor, connection.connection).insert_checkins(events)
    client.force_login(_staff("report-many", "district_admin"))
    period = f"date_from={day}&date_to={day}"
    first = client.get(f"/reports/?{period}").content.decode()
    assert first.count(f"<tr><td>{day}</td>") == REPORT_PER_PAGE == 100
    totals = re.search(r'id="totals">(\d+) [^:]*: \D*(\d+), \D*(\d+), \D*(\d+), ', first)
    assert f'href="?{period.replace("&", "&amp;")}&amp;page=2"' in first
    pages = -(-int(totals.group(1)) // 100)
    last = client.get(f"/reports/?{period}&page={pages}").content.decode()
    assert last.count(f"<tr><td>{day}</td>") == int(totals.group(1)) - 100 * (pages - 1) and "Trang sau" not in last
    rows = list(csv.DictReader(io.StringIO(client.get(f"/reports/?{period}&format=csv").content.decode())))
    assert len([r for r in rows if r["checkpoint_id"].startswith("CP-RP-")]) == 250
    assert sum(int(r["check_ins"]) for r in rows if r["checkpoint_id"].startswith("CP-RP-")) == 30
    assert [int(x) for x in totals.groups()] == [len(rows), sum(int(r["check_ins"]) for r in rows),
                                                 sum(int(r["check_outs"]) for r in rows),
                                                 sum(int(r["still_inside"]) for r in rows)]
