"""People's declarations (the declaration database's table, seen from the site) and SMS codes."""

from __future__ import annotations

import secrets
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from centre.keyed import keyed_hash
from centre.ledger.fields import StoredTime

VALID_DAYS = 14  # a declaration's QR
# A household's declarations valid at once under one phone ("khai hộ"): room for a large family,
# not for a script filling the database or a checkpoint's page with thousands.
MAX_LIVE_PER_PHONE = 20


@contextmanager
def one_at_a_time(user):
    """What one signed-in account asks, done one request at a time: its own row is written first
    in the transaction (a row lock on PostgreSQL, the write lock on SQLite), so a count and the
    write it allows never interleave with another request's. A burst of forms from one phone
    each passed the count of 20 before any was stored."""
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.db.models import F

    with transaction.atomic():
        get_user_model().objects.filter(pk=user.pk).update(last_login=F("last_login"))
        yield


class Declaration(models.Model):
    declaration_id = models.CharField(primary_key=True, max_length=64)
    full_name = models.CharField(_("full name"), max_length=100)
    citizen_id = models.CharField(_("citizen id"), max_length=12, null=True, blank=True)
    passport = models.CharField(_("passport"), max_length=20, null=True, blank=True)
    birth_year = models.IntegerField(_("birth year"))
    sex = models.CharField(_("sex"), max_length=1)
    nationality = models.CharField(_("nationality"), max_length=60, null=True)
    province = models.CharField(_("province / city"), max_length=80, null=True)
    district = models.CharField(_("district"), max_length=80, null=True)  # an address from before July 2025
    commune = models.CharField(_("commune / ward"), max_length=80, null=True)
    # The official codes (centre.places): the province's always; the ward's unless the address is an old one.
    province_code = models.SmallIntegerField(_("province code"), null=True, db_index=True)
    ward_code = models.IntegerField(_("ward code"), null=True, db_index=True)
    address_line = models.CharField(_("house number, street"), max_length=200, null=True)
    phone = models.CharField(_("phone"), max_length=12, null=True)
    email = models.CharField(_("email"), max_length=254, null=True, blank=True)
    insurance_no = models.CharField(_("health-insurance card"), max_length=15, null=True, blank=True)
    on_behalf_of = models.CharField(max_length=100, null=True)
    owner_phone = models.CharField(max_length=12, null=True)  # the phone that signed in and declared
    # The checkpoint whose staff declared it at the door (a walk-in's card, found again there only).
    made_at = models.CharField(max_length=64, null=True, db_index=True)
    symptoms = models.BooleanField(default=False)
    exposure = models.BooleanField(default=False)
    travel = models.BooleanField(default=False)
    declared_at = StoredTime()
    expires_at = StoredTime(null=True)

    class Meta:
        db_table = "declarations"
        ordering = ["-declared_at"]

    @property
    def place(self) -> str:
        """Commune or ward, the old district if one was written, the province."""
        return ", ".join(x for x in (self.commune, self.district, self.province) if x)

    @property
    def expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def follow_up(self) -> bool:
        return self.symptoms or self.exposure or self.travel

    def qr_text(self) -> str:
        """The declaration's QR text: signed again on demand (Ed25519 signatures are deterministic,
        so the same declaration always gives the same QR)."""
        from protocol.token import issue_token

        return issue_token(_signer(), self.declaration_id, self.full_name, int(self.declared_at.timestamp()),
                           int(self.expires_at.timestamp()))

    @classmethod
    def declare(cls, c: dict, owner_phone: str | None, phone: str | None, on_behalf_of: str | None,
                valid_days: int = VALID_DAYS, made_at: str | None = None) -> Declaration:
        """A new declaration from the form's cleaned data, stored only once its QR can be signed;
        no phone at all for a walk-in declared by staff (their printed card is their QR)."""
        now = timezone.now().replace(microsecond=0)
        d = cls(declaration_id=f"VHD-{now.year}-{secrets.token_hex(5).upper()}", full_name=c["full_name"],
                citizen_id=c["citizen_id"] or None, passport=(c["passport"] or "").strip() or None,
                birth_year=c["birth_year"], sex=c["sex"], nationality=c["nationality"],
                province=c["province"], district=c["district"], commune=c["commune"],
                province_code=c.get("province_code"), ward_code=c.get("ward_code"), address_line=c["address_line"],
                email=c.get("email") or None, phone=phone, insurance_no=c["insurance_no"] or None,
                on_behalf_of=on_behalf_of, owner_phone=owner_phone, made_at=made_at, symptoms=c["symptoms"],
                exposure=c["exposure"], travel=c["travel"], declared_at=now,
                expires_at=now + timedelta(days=valid_days))
        d.qr_text()  # the key is there and the name fits the token, before anything is stored
        d.save(force_insert=True)
        return d

    @classmethod
    def full_for(cls, owner_phone: str | None) -> bool:
        """True when `owner_phone` already holds MAX_LIVE_PER_PHONE valid declarations."""
        return bool(owner_phone) and cls.objects.filter(
            owner_phone=owner_phone, expires_at__gt=timezone.now()).count() >= MAX_LIVE_PER_PHONE

    def renew(self, valid_days: int = VALID_DAYS) -> None:
        """Valid again for `valid_days` from now (a new QR: its times are signed), never less long
        than it was: a printed card's longer QR stays valid, and the expiry stored is always the
        latest of every QR made, which is how long a deleted declaration's QR is refused at gates."""
        now = timezone.now().replace(microsecond=0)
        expires = max(now + timedelta(days=valid_days), self.expires_at or now)
        Declaration.objects.filter(pk=self.pk).update(declared_at=now, expires_at=expires)
        self.declared_at, self.expires_at = now, expires


def _signer():
    """The key new QR codes are signed with: the web service's `signing-key` credential, else the
    newest live key of the issuer's folder (a site run by hand as root)."""
    from common.authority import Authority, load_signing_key
    from mqtt_bridge.centre_api import secret_path

    credential = secret_path("signing-key")
    if credential.is_file():
        return load_signing_key(credential)
    return Authority(settings.AUTHORITY_DIR).signing_key()


class SmsCode(models.Model):
    """A one-time code: only its keyed hash is kept; five tries; five minutes."""

    phone = models.CharField(max_length=12, db_index=True)
    purpose = models.CharField(max_length=10)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    expires_at = models.DateTimeField()
    tries = models.IntegerField(default=0)
    used = models.BooleanField(default=False)


class PhoneAccount(models.Model):
    """A phone that signed in with an SMS code: a person (declarations are kept under it) or a
    unit (its checkpoints' contact phone). Each is a Django user of its own with no password, no
    role and no permission, so sessions, `login_required` and sign-out are Django's; its user name
    is a keyed hash, so the staff's user list never shows a phone number."""

    PERSON, UNIT = "person", "unit"
    user = models.OneToOneField(settings.AUTH_USER_MODEL, models.CASCADE, related_name="phone_account")
    phone = models.CharField(max_length=12)
    kind = models.CharField(max_length=10, choices=[(PERSON, _("person")), (UNIT, _("unit"))])

    class Meta:
        constraints = [models.UniqueConstraint(fields=["phone", "kind"], name="one_account_per_phone_and_kind")]

    @classmethod
    def user_for(cls, phone: str, kind: str):
        """The account's user, made the first time this phone signs in as this kind."""
        from django.contrib.auth import get_user_model
        from django.db import IntegrityError, transaction

        account = cls.objects.filter(phone=phone, kind=kind).select_related("user").first()
        if account is not None:
            return account.user
        tag = keyed_hash(f"{kind}:{phone}")
        try:
            with transaction.atomic():
                user = get_user_model()(username=f"{kind}-{tag[:24]}")
                user.set_unusable_password()
                user.save()
                cls.objects.create(user=user, phone=phone, kind=kind)
                return user
        except IntegrityError:  # the same phone signing in twice at once: the other made it
            return cls.objects.select_related("user").get(phone=phone, kind=kind).user
