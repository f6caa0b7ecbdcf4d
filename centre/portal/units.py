"""Đăng ký điểm kiểm dịch: a unit registers its checkpoint with its phone confirmed by SMS, gets the
poster at once, signs in later with that phone, sees its day; its staff check people in by phone."""

from __future__ import annotations

import secrets

from django import forms
from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from centre.accounts.backends import client_address
from centre.checkpoints.models import Checkpoint
from centre.ids import posted_id
from centre.keyed import keyed_hash
from centre.ledger.models import Checkin
from centre.portal import backends, otp
from centre.portal.backends import phone_of, unit_required
from centre.portal.checkins import EVENT_ID, new_event_id, store_checkin, web_event
from centre.portal.forms import (
    MESSAGES,
    AddressForm,
    CodeForm,
    DeclarationForm,
    PersonName,
    PhoneForm,
    PlaceText,
    address_form,
)
from centre.portal.models import MAX_LIVE_PER_PHONE, Declaration, PhoneAccount, one_at_a_time
from centre.portal.sms import SmsError
from centre.reports.figures import TZ, checkpoint_days, day_bounds
from centre.reports.models import AuditEntry
from centre.reports.store import SiteStore
from protocol.person import normalise_phone


def _phone(request: HttpRequest) -> str:
    """The unit's phone it signed in with ("" when not signed in as a unit)."""
    return phone_of(request.user, PhoneAccount.UNIT) or ""


def _mine(request: HttpRequest):
    return Checkpoint.objects.filter(contact_phone=_phone(request))


class RegisterForm(AddressForm):
    """What the district needs to reach a unit: the place, its ward from the official list, the
    street address, who to call and the phone its code goes to."""

    OLD_ADDRESS = False
    field_order = ["name", "kind", "province_code", "ward_code", "address"]
    name = PlaceText(label=_("Name of the place"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=Checkpoint._meta.get_field("kind").choices)
    address = PlaceText(label=_("House number, street"), max_length=200)
    contact_person = PersonName(label=_("Contact person (the district calls them)"), max_length=100)
    phone = forms.CharField(label=_("Phone (a code will be sent to it)"), max_length=20)

    def clean_phone(self):
        phone = normalise_phone(self.cleaned_data["phone"])
        if not phone:
            raise forms.ValidationError(_("A Vietnamese mobile number."))
        return phone


# Checkpoints one phone may have waiting for the district's review: a unit's doors, not a script's
# hundreds in the district's queue.
MAX_WAITING_PER_PHONE = 5


def register(request: HttpRequest) -> HttpResponse:
    form = address_form(RegisterForm, request)
    error = None
    if request.method == "POST" and form.is_valid() and Checkpoint.objects.filter(
            contact_phone=form.cleaned_data["phone"], approved_at__isnull=True).count() >= MAX_WAITING_PER_PHONE:
        error = _("This phone already has %(n)d checkpoints waiting for the district's approval: register more "
                  "once they are approved.") % {"n": MAX_WAITING_PER_PHONE}
    elif request.method == "POST" and form.is_valid():
        c = form.cleaned_data
        try:
            problem = otp.request_code(c["phone"], "unit", client_address(request))
        except SmsError as exc:
            problem, error = "sms", str(exc)
        if problem is None:
            request.session["unit_pending"] = {**c, "address": f"{c['address']}, {c['commune']}, {c['province']}"}
            return redirect("unit-confirm")
        error = error or MESSAGES[problem]
    return render(request, "portal/unit_register.html", {"form": form, "error": error})


def sign_in(request: HttpRequest) -> HttpResponse:
    form = PhoneForm(request.POST or None)
    error = None
    if request.method == "POST" and form.is_valid():
        phone = form.cleaned_data["phone"]
        # The same work and the same answers whether or not a checkpoint has this number: a code is
        # made either way (sent only to a registered one, from a thread), so neither the page, its
        # time nor the code's answers later tell registered numbers from others.
        problem = otp.request_code(phone, "unit", client_address(request),
                                   send=Checkpoint.objects.filter(contact_phone=phone).exists(), background=True)
        if problem is None:
            request.session["unit_pending"] = {"phone": phone}
            return redirect("unit-confirm")
        error = error or MESSAGES[problem]
    return render(request, "portal/unit_sign_in.html", {"form": form, "error": error})


def confirm(request: HttpRequest) -> HttpResponse:
    pending = request.session.get("unit_pending")
    if not pending:
        return redirect("unit-sign-in")
    form = CodeForm(request.POST or None)
    error = None
    if request.method == "POST" and form.is_valid():
        user = authenticate(request, phone=pending["phone"], code=form.cleaned_data["code"], kind=PhoneAccount.UNIT)
        if user is not None:
            login(request, user)  # a new session id; the pending registration stays in it until read
            request.session.pop("unit_pending", None)
            if "name" in pending:  # a registration: the checkpoint exists from now on
                Checkpoint.objects.create(checkpoint_id=f"CP-{secrets.token_hex(4).upper()}", name=pending["name"],
                                          address=pending["address"], contact_phone=pending["phone"],
                                          contact_person=pending.get("contact_person"),
                                          province_code=pending.get("province_code"),
                                          ward_code=pending.get("ward_code"),
                                          unit=pending["name"], kind=pending["kind"])
            return redirect("unit-home")
        error = MESSAGES[getattr(request, "phone_code_problem", "wrong")]
    return render(request, "portal/confirm.html", {"form": form, "error": error, "phone_tail": pending["phone"][-3:],
                                                   "next": ""})


@unit_required
def home(request: HttpRequest) -> HttpResponse:
    """The unit's checkpoints: posters, today's check-ins, the day's report (as the district sees it)."""
    store = SiteStore()
    today = timezone.localtime(timezone=TZ).date()
    start, end = day_bounds(today, today, TZ)
    checkpoints = []
    for cp in _mine(request).order_by("name"):
        report = next(iter(checkpoint_days(store, today, today, cp.checkpoint_id)), None)
        checkpoints.append({"cp": cp, "today": Checkin.at_checkpoint(cp.checkpoint_id, start, end), "report": report})
    return render(request, "portal/unit_home.html", {"checkpoints": checkpoints})


@unit_required
def poster(request: HttpRequest, checkpoint_id: str, fmt: str) -> HttpResponse:
    from common.poster import poster_bytes

    cp = get_object_or_404(_mine(request), pk=checkpoint_id)
    data, content_type = poster_bytes(cp.checkpoint_id, cp.name, cp.address, cp.contact_phone, cp.unit, fmt,
                                      settings.PORTAL_URL)
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="poster-{cp.checkpoint_id}.{fmt}"'
    return response


@unit_required
def staff(request: HttpRequest, checkpoint_id: str) -> HttpResponse:
    """At the door, for people without a smartphone: type their phone number, see the people
    declared under it by name only, check the chosen one in or out. Every look-up is audited."""
    cp = get_object_or_404(_mine(request), pk=checkpoint_id)
    if cp.approved_at is None:  # a unit anyone could register: no look-up of people until reviewed
        return render(request, "portal/staff_waiting.html", {"cp": cp}, status=403)
    who = f"unit {_phone(request)[-3:]} at {cp.checkpoint_id}"
    form = PhoneForm(request.POST if "phone" in request.POST else None)
    people, done, error = [], None, None
    looked_up = request.session.get("staff_phone")
    if request.method == "POST" and "declaration_id" in request.POST:
        d = get_object_or_404(Declaration, pk=posted_id(request, "declaration_id"))
        direction, event_id = request.POST.get("direction"), request.POST.get("event_id", "")
        if (looked_up and looked_up in (d.owner_phone, d.phone) and direction in ("in", "out")
                and EVENT_ID.fullmatch(event_id)):
            stored = store_checkin(web_event(cp.checkpoint_id, d, direction, event_id, "staff"))
            done = {"d": d, "stored": stored} if stored is not None else None
    elif request.method == "POST" and form.is_valid() and (error := _lookup_refused(_phone(request), who)) is None:
        phone = form.cleaned_data["phone"]
        request.session["staff_phone"] = phone
        AuditEntry.record(AuditEntry.LOOKUP, phone, "check-in at the door", username=who)
        people = list(Declaration.objects.filter(owner_phone=phone, expires_at__gt=timezone.now())
                      .order_by("declared_at")) + list(Declaration.objects.filter(
                          phone=phone, expires_at__gt=timezone.now()).exclude(owner_phone=phone))
        for p in people:
            p.event_id = new_event_id()
    return render(request, "portal/staff.html", {"cp": cp, "form": form, "people": people, "done": done,
                                                 "error": error}, status=429 if error else 200)


def _lookup_refused(unit_phone: str, who: str) -> str | None:
    """Counts this look-up against the unit's hourly limit: None when it may go ahead, else why
    not. The audit log flags a unit the first time it reaches the flagged volume within the hour."""
    done = otp.take((f"lookup:{keyed_hash(unit_phone)[:32]}", settings.STAFF_LOOKUPS_PER_HOUR, 3600))
    if done is None:
        return str(_("Too many look-ups from this unit in an hour: wait, or call the district."))
    if done + 1 == settings.STAFF_LOOKUPS_FLAGGED:
        AuditEntry.record(AuditEntry.ALERT, who, f"{done + 1} look-ups by phone number within an hour", username=who)
    return None


class OnBehalfForm(DeclarationForm):
    person_phone = forms.CharField(label=_("The person's phone, if they have one (their declarations are found by "
                                           "it; leave empty for someone without a phone)"), max_length=20,
                                   required=False)

    def clean_person_phone(self):
        value = self.cleaned_data["person_phone"].strip()
        if not value:
            return None
        phone = normalise_phone(value)
        if not phone:
            raise forms.ValidationError(_("A Vietnamese mobile number."))
        return phone


def _made_here(cp: Checkpoint) -> str:
    """What a declaration made by this checkpoint's staff records as its maker (id first: kept
    whole however long the name)."""
    return f"({cp.checkpoint_id}) {cp.name}"[:100]


def _card(request: HttpRequest, cp: Checkpoint, d: Declaration) -> HttpResponse:
    request.session["staff_cards"] = [*request.session.get("staff_cards", [])[-20:], d.declaration_id]
    return render(request, "portal/staff_card.html", {"cp": cp, "d": d})


@unit_required
def staff_declare(request: HttpRequest, checkpoint_id: str) -> HttpResponse:
    """Declare for someone at the door and print their card at once."""
    cp = get_object_or_404(_mine(request), pk=checkpoint_id)
    if cp.approved_at is None:  # anyone can register a unit: it declares for no one until reviewed
        return render(request, "portal/staff_waiting.html", {"cp": cp}, status=403)
    form = address_form(OnBehalfForm, request, initial={"nationality": "Việt Nam"})
    if request.method == "POST" and form.is_valid():
        c = form.cleaned_data
        with one_at_a_time(request.user):
            if Declaration.full_for(c["person_phone"]):
                form.add_error("person_phone", MESSAGES["phone_full"] % {"n": MAX_LIVE_PER_PHONE})
            elif otp.take((f"walk-in:{keyed_hash(_phone(request))[:32]}", settings.STAFF_DECLARATIONS_PER_HOUR,
                           3600)) is None:
                form.add_error(None, _("Too many declarations from this unit in an hour: wait, or call the district."))
            else:
                d = Declaration.declare(c, c["person_phone"], c["person_phone"], _made_here(cp),
                                        valid_days=settings.PRINTED_CARD_DAYS, made_at=cp.checkpoint_id)
                return _card(request, cp, d)
    return render(request, "portal/declare.html", {"form": form})


class ReprintForm(forms.Form):
    full_name = PersonName(label=_("Full name"), max_length=100)
    birth_year = forms.IntegerField(label=_("Birth year"), min_value=1900, max_value=2100)


@unit_required
def staff_reprint(request: HttpRequest, checkpoint_id: str) -> HttpResponse:
    """A card printed here before, found by name and birth year among the declarations this
    checkpoint's staff made (no one else's), printed again and valid again. Each search is a
    look-up of a person: approved units only, counted, audited."""
    cp = get_object_or_404(_mine(request), pk=checkpoint_id)
    if cp.approved_at is None:
        return render(request, "portal/staff_waiting.html", {"cp": cp}, status=403)
    made_here = Declaration.objects.filter(made_at=cp.checkpoint_id)  # never by the text a person can type
    if request.method == "POST" and "declaration_id" in request.POST:
        d = get_object_or_404(made_here, pk=posted_id(request, "declaration_id"))
        if d.declaration_id not in request.session.get("staff_found", []):
            raise Http404  # only what this session's search found
        d.renew(valid_days=settings.PRINTED_CARD_DAYS)
        return _card(request, cp, d)
    form = ReprintForm(request.POST or None)
    found, error = None, None
    who = f"unit {_phone(request)[-3:]} at {cp.checkpoint_id}"
    if request.method == "POST" and form.is_valid() and (error := _lookup_refused(_phone(request), who)) is None:
        name = " ".join(form.cleaned_data["full_name"].split()).casefold()
        AuditEntry.record(AuditEntry.LOOKUP, form.cleaned_data["full_name"], "card reprint at the door", username=who)
        found = [d for d in made_here.filter(birth_year=form.cleaned_data["birth_year"]).order_by("-declared_at")[:500]
                 if d.full_name.casefold() == name][:10]
        request.session["staff_found"] = [d.declaration_id for d in found]
    return render(request, "portal/staff_reprint.html", {"cp": cp, "form": form, "found": found, "error": error},
                  status=429 if error else 200)


@unit_required
def staff_card_qr(request: HttpRequest, checkpoint_id: str, declaration_id: str) -> HttpResponse:
    """The QR of a card this unit's staff just declared (and no other)."""
    import io

    from common.poster import declaration_qr

    get_object_or_404(_mine(request), pk=checkpoint_id)
    if declaration_id not in request.session.get("staff_cards", []):
        return HttpResponse(status=404)
    d = get_object_or_404(Declaration, pk=declaration_id)
    buf = io.BytesIO()
    declaration_qr(d.qr_text(), d.full_name, d.declaration_id).save(buf, "PNG")
    return HttpResponse(buf.getvalue(), content_type="image/png")


def sign_out(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        logout(request)
    return redirect("unit-sign-in")


@unit_required
def sign_out_elsewhere(request: HttpRequest) -> HttpResponse:
    """From the unit's page: every other phone signed in with the unit's number is signed out."""
    return backends.sign_out_elsewhere(request, "unit-home")
