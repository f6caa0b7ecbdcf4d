"""Khai báo y tế: sign in with a phone and an SMS code, declare for oneself and relatives, the QR,
"Tờ khai của tôi"; and the district's follow-up list."""

from __future__ import annotations

import io
import re
import secrets
from datetime import timedelta
from functools import wraps
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _

from centre.accounts.backends import client_address
from centre.portal import otp
from centre.portal.models import Declaration
from centre.portal.sms import SmsError
from centre.reports.models import AuditEntry
from centre.reports.store import SiteStore
from mqtt_bridge.centre_api import CHECKIN_DAYS, TZ, as_time
from protocol.event import name_fits

SESSION_PHONE = "portal_phone"
VALID_DAYS = 14
MESSAGES = {"too_many": _("Too many codes asked for: wait a few minutes."),
            "wrong": _("Wrong code."), "expired": _("The code has expired: ask for a new one."),
            "too_many_tries": _("Too many wrong codes: ask for a new one.")}


def person_required(view):
    """Pages for a person signed in with their phone; others go through sign-in and come back."""
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.session.get(SESSION_PHONE):
            return redirect(f"{settings.PORTAL_SIGN_IN}?next={request.get_full_path()}")
        return view(request, *args, **kwargs)
    return wrapper


class PhoneForm(forms.Form):
    phone = forms.CharField(label=_("Mobile number"), max_length=20,
                            widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}))

    def clean_phone(self):
        phone = otp.normalise_phone(self.cleaned_data["phone"])
        if not phone:
            raise forms.ValidationError(_("A Vietnamese mobile number: 10 digits starting 03, 05, 07, 08 or 09."))
        return phone


class CodeForm(forms.Form):
    code = forms.CharField(label=_("6-digit code"), min_length=6, max_length=6,
                           widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}))


def _safe_next(value: str | None) -> str:
    """Back to a page of this site only: Django's own check, which also refuses "/\\evil.example"
    (browsers read it as another host)."""
    if value and value.startswith("/") and url_has_allowed_host_and_scheme(value, allowed_hosts=None):
        return value
    return reverse("portal-mine")


def sign_in(request):
    form = PhoneForm(request.POST or None)
    error = None
    if request.method == "POST" and form.is_valid():
        phone = form.cleaned_data["phone"]
        try:
            problem = otp.request_code(phone, "person", client_address(request))
        except SmsError as exc:
            problem, error = "sms", str(exc)
        if problem is None:
            request.session["portal_pending"] = phone
            return redirect(f"{reverse('portal-confirm')}?{urlencode({'next': _safe_next(request.POST.get('next'))})}")
        error = error or MESSAGES[problem]
    return render(request, "portal/sign_in.html", {"form": form, "error": error,
                                                   "next": _safe_next(request.GET.get("next"))})


def confirm(request):
    phone = request.session.get("portal_pending")
    if not phone:
        return redirect("portal-sign-in")
    form = CodeForm(request.POST or None)
    error = None
    if request.method == "POST" and form.is_valid():
        problem = otp.check_code(phone, "person", form.cleaned_data["code"])
        if problem is None:
            request.session.cycle_key()  # a new session id once signed in
            request.session[SESSION_PHONE] = phone
            request.session.pop("portal_pending", None)
            return redirect(_safe_next(request.POST.get("next")))
        error = MESSAGES[problem]
    return render(request, "portal/confirm.html", {"form": form, "error": error, "phone_tail": phone[-3:],
                                                   "next": _safe_next(request.GET.get("next"))})


def sign_out(request):
    if request.method == "POST":
        request.session.flush()
    return redirect("portal-home")


def home(request):
    return render(request, "portal/home.html", {"signed_in": bool(request.session.get(SESSION_PHONE))})


class DeclarationForm(forms.Form):
    full_name = forms.CharField(label=_("Full name"), max_length=100)
    citizen_id = forms.CharField(label=_("Citizen id (12 digits)"), max_length=12, required=False)
    passport = forms.CharField(label=_("or passport number"), max_length=20, required=False)
    birth_year = forms.IntegerField(label=_("Birth year"), min_value=1900)
    sex = forms.ChoiceField(label=_("Sex"), choices=[("M", _("male")), ("F", _("female"))])
    nationality = forms.CharField(label=_("Nationality"), max_length=60, initial="Việt Nam")
    province = forms.CharField(label=_("Province / city"), max_length=80)
    district = forms.CharField(label=_("District"), max_length=80)
    commune = forms.CharField(label=_("Commune / ward"), max_length=80)
    address_line = forms.CharField(label=_("House number, street"), max_length=200, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False)
    insurance_no = forms.CharField(label=_("Health-insurance card (15 characters)"), max_length=15, required=False)
    symptoms = forms.BooleanField(label=_("In the last 14 days: fever, cough, shortness of breath, sore throat, "
                                           "loss of taste or smell?"), required=False)
    exposure = forms.BooleanField(label=_("Contact with a confirmed or suspected case?"), required=False)
    travel = forms.BooleanField(label=_("Travel through an area with cases?"), required=False)
    relation = forms.CharField(label=_("Declaring for a relative: who they are to you (leave empty for "
                                        "yourself)"), max_length=40, required=False)

    def clean_full_name(self):
        import unicodedata

        name = unicodedata.normalize("NFC", " ".join(self.cleaned_data["full_name"].split()))
        if not name or not name_fits(name):
            raise forms.ValidationError(_("A name of at most 100 letters."))
        return name

    def clean_citizen_id(self):
        value = self.cleaned_data["citizen_id"].strip()
        if value and not (value.isdigit() and len(value) == 12):
            raise forms.ValidationError(_("12 digits."))
        return value

    def clean_birth_year(self):
        year = self.cleaned_data["birth_year"]
        if year > timezone.now().year:
            raise forms.ValidationError(_("A real year."))
        return year

    def clean_phone(self):
        value = self.cleaned_data["phone"]
        if not value:
            return ""
        phone = otp.normalise_phone(value)
        if not phone:
            raise forms.ValidationError(_("A Vietnamese mobile number."))
        return phone

    def clean_insurance_no(self):
        value = self.cleaned_data["insurance_no"].strip().upper()
        # The card number: 2 letters (group), 1 digit (benefit level), 2 digits (province), 10 digits.
        if value and not (len(value) == 15 and value[:2].isalpha() and value[2:].isdigit()):
            raise forms.ValidationError(_("15 characters: 2 letters then 13 digits, as on the card."))
        return value

    def clean(self):
        data = super().clean()
        if not data.get("citizen_id") and not (data.get("passport") or "").strip():
            raise forms.ValidationError(_("Give a citizen id or a passport number."))
        return data


def _signer():
    """The key new QR codes are signed with: the web service's `signing-key` credential, else the
    newest live key of the issuer's folder (a site run by hand as root)."""
    from common.authority import Authority, load_signing_key
    from mqtt_bridge.centre_api import secret_path

    credential = secret_path("signing-key")
    if credential.is_file():
        return load_signing_key(credential)
    return Authority(settings.AUTHORITY_DIR).signing_key()


def token_for(d: Declaration) -> str:
    """The declaration's QR text: signed again on demand (Ed25519 signatures are deterministic,
    so the same declaration always gives the same QR)."""
    from protocol.token import issue_token

    return issue_token(_signer(), d.declaration_id, d.full_name, int(d.declared_at.timestamp()),
                       int(d.expires_at.timestamp()))


def save_declaration(c: dict, owner_phone: str, phone: str, on_behalf_of: str | None) -> Declaration:
    """A new declaration from the form's cleaned data, stored only once its QR can be signed."""
    now = timezone.now().replace(microsecond=0)
    d = Declaration(declaration_id=f"VHD-{now.year}-{secrets.token_hex(5).upper()}", full_name=c["full_name"],
                    citizen_id=c["citizen_id"] or None, passport=(c["passport"] or "").strip() or None,
                    birth_year=c["birth_year"], sex=c["sex"], nationality=c["nationality"],
                    province=c["province"], district=c["district"], commune=c["commune"],
                    address_line=c["address_line"], phone=phone, insurance_no=c["insurance_no"] or None,
                    on_behalf_of=on_behalf_of, owner_phone=owner_phone, symptoms=c["symptoms"],
                    exposure=c["exposure"], travel=c["travel"], declared_at=now,
                    expires_at=now + timedelta(days=VALID_DAYS))
    token_for(d)  # the key is there and the name fits the token, before anything is stored
    d.save(force_insert=True)
    return d


@person_required
def declare(request):
    form = DeclarationForm(request.POST or None, initial={"nationality": "Việt Nam"})
    if request.method == "POST" and form.is_valid():
        c = form.cleaned_data
        owner = request.session[SESSION_PHONE]
        d = save_declaration(c, owner, c["phone"] or owner, c["relation"] or None)
        back = request.GET.get("next", "")
        if back.startswith("/c/"):  # declared from a checkpoint's page: back there to check in
            return redirect(back)
        return redirect("portal-declaration", declaration_id=d.declaration_id)
    return render(request, "portal/declare.html", {"form": form})


def _own(request, declaration_id: str) -> Declaration:
    d = get_object_or_404(Declaration, pk=declaration_id)
    if d.owner_phone != request.session.get(SESSION_PHONE):
        raise Http404  # another phone's declaration does not exist for this one
    return d


@person_required
def declaration(request, declaration_id):
    d = _own(request, declaration_id)
    return render(request, "portal/declaration.html", {"d": d, "expired": d.expires_at <= timezone.now()})


@person_required
def declaration_qr(request, declaration_id):
    from common.poster import declaration_qr as render_qr

    d = _own(request, declaration_id)
    buf = io.BytesIO()
    render_qr(token_for(d), d.full_name, d.declaration_id).save(buf, "PNG")
    response = HttpResponse(buf.getvalue(), content_type="image/png")
    if request.GET.get("download"):
        response["Content-Disposition"] = f'attachment; filename="{d.declaration_id}.png"'
    return response


@person_required
def declaration_card(request, declaration_id):
    return render(request, "portal/card.html", {"d": _own(request, declaration_id)})


@person_required
def renew(request, declaration_id):
    d = _own(request, declaration_id)
    if request.method == "POST":
        now = timezone.now().replace(microsecond=0)
        Declaration.objects.filter(pk=d.pk).update(declared_at=now, expires_at=now + timedelta(days=VALID_DAYS))
    return redirect("portal-declaration", declaration_id=d.declaration_id)


@person_required
def mine(request):
    """Tờ khai của tôi: every declaration under this phone, and each person's check-ins and
    check-outs of the retention window."""
    phone = request.session[SESSION_PHONE]
    people = list(Declaration.objects.filter(owner_phone=phone).order_by("-declared_at")[:50])
    store = SiteStore()
    since = store.time_param(timezone.now() - timedelta(days=CHECKIN_DAYS))
    for d in people:
        subjects = [s for s in (d.declaration_id, d.citizen_id) if s]
        marks = ", ".join("?" * len(subjects))
        d.visits = store.query(
            f"SELECT c.direction, c.scanned_at, c.device_id, coalesce(p.name, c.checkpoint_id) AS place "
            f"FROM checkins c LEFT JOIN checkpoints p ON p.checkpoint_id = c.checkpoint_id "
            f"WHERE c.subject IN ({marks}) AND c.scanned_at >= ? ORDER BY c.scanned_at DESC LIMIT 100",
            (*subjects, since))
        for v in d.visits:
            v["at"] = as_time(v["scanned_at"]).astimezone(TZ)
    return render(request, "portal/mine.html", {"people": people, "phone_tail": phone[-3:],
                                                "now": timezone.now()})


@login_required
@permission_required("reports.view_auditentry", raise_exception=True)
def follow_up(request):
    """Declarations of the last 14 days with symptoms or exposure: a look-up of people, audited."""
    since = timezone.now() - timedelta(days=14)
    rows = Declaration.objects.filter(Q(symptoms=True) | Q(exposure=True) | Q(travel=True), declared_at__gte=since)
    AuditEntry.record(AuditEntry.LOOKUP, str(_("follow-up list")), user=request.user)
    return render(request, "portal/follow_up.html", {"rows": rows.order_by("-declared_at")[:500]})


# --- check-in by the checkpoint's poster ------------------------------------------------------------

def _web_event(checkpoint_id: str, d: Declaration, direction: str, event_id: str, source: str):
    from protocol.event import Event, format_time

    now = timezone.now()
    return Event.from_dict(dict(event_id=event_id, device_id=source, checkpoint_id=checkpoint_id,
                                direction=direction, kind="vhd", subject=d.declaration_id,
                                display_name=d.full_name, scanned_at=format_time(now), mono_ns=0,
                                boot_id=source, time_synced=True, firmware="portal"))


def store_checkin(event) -> bool:
    """Into the check-ins, as the bridge stores a gate's: once per event id (a second press or a
    reload sends the same id). True when it was new. The event comes from _web_event, checked
    there by the protocol's own decoder."""
    from django.db import connection

    from mqtt_bridge.centre_api import store_on

    connection.ensure_connection()  # Django's own connection: none opened beside it per check-in
    return store_on(connection.vendor, connection.connection).insert_checkins([event]) == 1


def new_event_id() -> str:
    import os

    from protocol.event import uuid7

    return uuid7(int(timezone.now().timestamp() * 1000), os.urandom(10))


_EVENT_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def checkpoint_page(request, checkpoint_id):
    """What a phone camera opens from the poster: the checkpoint, and for a signed-in phone the
    people declared under it, each with check-in and check-out."""
    from centre.checkpoints.models import Checkpoint

    cp = get_object_or_404(Checkpoint, pk=checkpoint_id)
    phone = request.session.get(SESSION_PHONE)
    people = list(Declaration.objects.filter(owner_phone=phone, expires_at__gt=timezone.now())
                  .order_by("declared_at")) if phone else []
    if request.method == "POST" and phone:
        d = next((p for p in people if p.declaration_id == request.POST.get("declaration_id")), None)
        direction, event_id = request.POST.get("direction"), request.POST.get("event_id", "")
        if d is None or direction not in ("in", "out") or not _EVENT_ID.fullmatch(event_id):
            return render(request, "portal/checkpoint.html", {"cp": cp, "people": people, "signed_in": True,
                                                              "error": True}, status=400)
        store_checkin(_web_event(cp.checkpoint_id, d, direction, event_id, "web"))
        return render(request, "portal/checked_in.html", {"cp": cp, "d": d, "direction": direction,
                                                          "at": timezone.now().astimezone(TZ)})
    for p in people:
        p.event_id = new_event_id()  # one per form: a second press stores nothing new
    return render(request, "portal/checkpoint.html", {"cp": cp, "people": people, "signed_in": bool(phone),
                                                      "here": request.get_full_path()})
