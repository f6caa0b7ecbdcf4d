"""Khai báo y tế: sign in with a phone and an SMS code, declare for oneself and relatives, the QR,
"Tờ khai của tôi"; and the district's follow-up list."""

from __future__ import annotations

import io
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

from django import forms
from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_required, permission_required
from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _

from centre import places
from centre.accounts.backends import client_address
from centre.ledger.models import Checkin
from centre.portal import backends, otp
from centre.portal.backends import person_required, phone_of
from centre.portal.checkins import EVENT_ID, new_event_id, store_checkin, web_event
from centre.portal.forms import MESSAGES, CodeForm, DeclarationForm, PhoneForm, PlaceFilter, address_form
from centre.portal.models import MAX_LIVE_PER_PHONE, Declaration, PhoneAccount, one_at_a_time
from centre.portal.sms import SmsError
from centre.reports.models import AuditEntry
from centre.reports.retention import CHECKIN_DAYS


def _phone(request: HttpRequest) -> str:
    """The phone this person signed in with ("" when not signed in by phone)."""
    return phone_of(request.user, PhoneAccount.PERSON) or ""


def _url_name(path: str) -> str | None:
    try:
        return resolve(urlsplit(path).path).url_name
    except Resolver404:
        return None


def _safe_next(value: str | None) -> str:
    """Back to a page of this site only: Django's own check, which also refuses "/\\evil.example"
    (browsers read it as another host)."""
    if value and value.startswith("/") and url_has_allowed_host_and_scheme(value, allowed_hosts=None):
        return value
    return reverse("portal-mine")


def sign_in(request: HttpRequest) -> HttpResponse:
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


def confirm(request: HttpRequest) -> HttpResponse:
    phone = request.session.get("portal_pending")
    if not phone:
        return redirect("portal-sign-in")
    form = CodeForm(request.POST or None)
    error = None
    if request.method == "POST" and form.is_valid():
        user = authenticate(request, phone=phone, code=form.cleaned_data["code"], kind=PhoneAccount.PERSON)
        if user is not None:
            login(request, user)  # a new session id, Django's sign-in signal and last_login
            request.session.set_expiry(settings.PERSON_SESSION_SECONDS)
            request.session.pop("portal_pending", None)
            return redirect(_safe_next(request.POST.get("next")))
        error = MESSAGES[getattr(request, "phone_code_problem", "wrong")]
    return render(request, "portal/confirm.html", {"form": form, "error": error, "phone_tail": phone[-3:],
                                                   "next": _safe_next(request.GET.get("next")),
                                                   "session_days": settings.PERSON_SESSION_SECONDS // 86400})


def sign_out(request: HttpRequest) -> HttpResponse:
    response = redirect("portal-home")
    if request.method == "POST":
        logout(request)
        # a shared phone keeps nobody's declarations or QR codes once they sign out
        response["Clear-Site-Data"] = '"cache", "storage"'
    return response


@person_required
def sign_out_elsewhere(request: HttpRequest) -> HttpResponse:
    """From "Tờ khai của tôi": every other phone signed in with this number is signed out."""
    return backends.sign_out_elsewhere(request, "portal-mine")


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/home.html", {"signed_in": bool(_phone(request))})


def manifest(request: HttpRequest) -> HttpResponse:
    """The web app manifest: "Tờ khai của tôi" on the phone's home screen."""
    import json

    from django.templatetags.static import static

    body = {"name": str(_("Health declaration")), "short_name": "Khai báo y tế", "lang": "vi",
            "start_url": reverse("portal-mine"), "scope": "/khai-bao/", "display": "standalone",
            "background_color": "#f4f6f5", "theme_color": "#006e46",
            "icons": [{"src": static(f"centre/icon-{n}.png"), "sizes": f"{n}x{n}", "type": "image/png"}
                      for n in (192, 512)]}
    return HttpResponse(json.dumps(body, ensure_ascii=False), content_type="application/manifest+json")


def service_worker(request: HttpRequest) -> HttpResponse:
    response = render(request, "portal/sw.js", content_type="application/javascript")
    response["Cache-Control"] = "no-cache"  # a new version is picked up at the next visit
    return response


def privacy(request: HttpRequest) -> HttpResponse:
    """What is kept, for how long and who sees it: read before anything is declared."""
    from centre.portal.models import VALID_DAYS
    from centre.reports.retention import CHECKIN_DAYS, DECLARATION_DAYS_AFTER_EXPIRY

    return render(request, "portal/privacy.html", {"checkin_days": CHECKIN_DAYS, "valid_days": VALID_DAYS,
                                                   "after_days": DECLARATION_DAYS_AFTER_EXPIRY,
                                                   "session_days": settings.PERSON_SESSION_SECONDS // 86400})


@person_required
def declare(request: HttpRequest) -> HttpResponse:
    form = address_form(DeclarationForm, request, initial={"nationality": "Việt Nam"})
    owner = _phone(request)
    if request.method == "POST" and form.is_valid():
        c = form.cleaned_data
        with one_at_a_time(request.user):
            d = (None if Declaration.full_for(owner)
                 else Declaration.declare(c, owner, c["phone"] or owner, c["relation"] or None))
        if d is None:
            form.add_error(None, MESSAGES["phone_full"] % {"n": MAX_LIVE_PER_PHONE})
        else:
            back = _safe_next(request.GET.get("next"))
            if _url_name(back) == "portal-checkpoint":  # declared from a checkpoint's page: back there to check in
                return redirect(back)
            return redirect("portal-declaration", declaration_id=d.declaration_id)
    return render(request, "portal/declare.html", {"form": form})


def _own(request: HttpRequest, declaration_id: str) -> Declaration:
    d = get_object_or_404(Declaration, pk=declaration_id)
    if d.owner_phone != _phone(request):
        raise Http404  # another phone's declaration does not exist for this one
    return d


@person_required
def declaration(request: HttpRequest, declaration_id: str) -> HttpResponse:
    d = _own(request, declaration_id)
    return render(request, "portal/declaration.html", {"d": d, "expired": d.expired})


@person_required
def declaration_qr(request: HttpRequest, declaration_id: str) -> HttpResponse:
    from common.poster import declaration_qr as render_qr

    d = _own(request, declaration_id)
    buf = io.BytesIO()
    render_qr(d.qr_text(), d.full_name, d.declaration_id).save(buf, "PNG")
    response = HttpResponse(buf.getvalue(), content_type="image/png")
    if request.GET.get("download"):
        response["Content-Disposition"] = f'attachment; filename="{d.declaration_id}.png"'
    return response


@person_required
def declaration_card(request: HttpRequest, declaration_id: str) -> HttpResponse:
    return render(request, "portal/card.html", {"d": _own(request, declaration_id)})


@person_required
def renew(request: HttpRequest, declaration_id: str) -> HttpResponse:
    d = _own(request, declaration_id)
    if request.method == "POST":
        with one_at_a_time(request.user):
            if d.expired and Declaration.full_for(d.owner_phone):  # valid again: one more
                return render(request, "portal/declaration.html", {
                    "d": d, "expired": True, "error": MESSAGES["phone_full"] % {"n": MAX_LIVE_PER_PHONE}},
                    status=409)
            d.renew()
    return redirect("portal-declaration", declaration_id=d.declaration_id)


@person_required
def delete(request: HttpRequest, declaration_id: str) -> HttpResponse:
    """A person deletes a declaration of theirs (one made by mistake, a relative's no longer
    needed): what it held goes at once; its check-ins stay their days for contact tracing, as the
    page says. One with a "yes" to a health question stays for the district's follow-up until it
    expires. A second press finds nothing to delete, as another phone's declaration never exists."""
    d = _own(request, declaration_id)
    if request.method == "POST" and not d.follow_up:
        Declaration.objects.filter(pk=d.pk).delete()  # not d.delete(): that empties d's id, which the page shows
        return render(request, "portal/deleted.html", {"d": d})
    return render(request, "portal/delete.html", {"d": d, "checkin_days": CHECKIN_DAYS, "expired": d.expired,
                                                  "kept": d.follow_up},
                  status=409 if request.method == "POST" else 200)


@person_required
def mine(request: HttpRequest) -> HttpResponse:
    """Tờ khai của tôi: every declaration under this phone, and each person's check-ins and
    check-outs of the retention window."""
    phone = _phone(request)
    people = list(Declaration.objects.filter(owner_phone=phone).order_by("-declared_at")[:50])
    since = timezone.now() - timedelta(days=CHECKIN_DAYS)
    for d in people:
        d.visits = Checkin.of_person([s for s in (d.declaration_id, d.citizen_id) if s], since)
    return render(request, "portal/mine.html", {"people": people, "phone_tail": phone[-3:],
                                                "now": timezone.now()})


@login_required
@permission_required("reports.view_auditentry", raise_exception=True)
def follow_up(request: HttpRequest) -> HttpResponse:
    """Declarations of the last 14 days with symptoms or exposure: a look-up of people, audited."""
    since = timezone.now() - timedelta(days=14)
    rows = Declaration.objects.filter(Q(symptoms=True) | Q(exposure=True) | Q(travel=True), declared_at__gte=since)
    form, where = PlaceFilter(request.GET or None), ""
    if form.is_valid():  # by the official codes: one place however its name was written
        for field in ("province_code", "ward_code"):
            if form.cleaned_data[field] is not None:
                rows = rows.filter(**{field: form.cleaned_data[field]})
                where += f" {field}={form.cleaned_data[field]}"
    elif form.is_bound:
        rows = rows.none()
    AuditEntry.record(AuditEntry.LOOKUP, str(_("follow-up list")) + where, user=request.user)
    return render(request, "portal/follow_up.html", {"rows": rows.order_by("-declared_at")[:500], "form": form})


class DeletionRequest(forms.Form):
    request_note = forms.CharField(label=_("the request (who asked, how and when)"), min_length=5, max_length=500,
                                   widget=forms.Textarea(attrs={"rows": 2}))


@login_required
@permission_required("portal.delete_declaration", raise_exception=True)
def follow_up_delete(request: HttpRequest, declaration_id: str) -> HttpResponse:
    """A declaration the portal keeps for follow-up (a "yes" to a health question) deleted on the
    person's request, as its page tells them to ask the district (Decree 13/2023/NĐ-CP): by a
    district administrator, the request written down in the audit log. It goes at once; its
    check-ins stay their days for tracing, and the gates refuse its QR."""
    d = get_object_or_404(Declaration, pk=declaration_id)
    form = DeletionRequest(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            Declaration.objects.filter(pk=d.pk).delete()
            AuditEntry.record(AuditEntry.DELETION, d.declaration_id, form.cleaned_data["request_note"],
                              user=request.user)
        return render(request, "portal/follow_up_delete.html", {"d": d, "done": True,
                                                                "checkin_days": CHECKIN_DAYS})
    return render(request, "portal/follow_up_delete.html", {"d": d, "form": form, "checkin_days": CHECKIN_DAYS})


def wards(request: HttpRequest, province: int) -> HttpResponse:
    """A province's wards, communes and special zones as [code, name] pairs, for portal.js to fill
    the wards' list with when a province is picked (the same list the page shows without it)."""
    found = places.wards(province)
    if not found:
        raise Http404
    response = JsonResponse({"wards": found})
    response["Cache-Control"] = "public, max-age=86400"
    return response


# --- check-in by the checkpoint's poster ------------------------------------------------------------

def checkpoint_page(request: HttpRequest, checkpoint_id: str) -> HttpResponse:
    """What a phone camera opens from the poster: the checkpoint, and for a signed-in phone the
    people declared under it, each with check-in and check-out."""
    from centre.checkpoints.models import Checkpoint

    cp = get_object_or_404(Checkpoint, pk=checkpoint_id)
    phone, error = _phone(request), False
    people = list(Declaration.objects.filter(owner_phone=phone, expires_at__gt=timezone.now())
                  .order_by("declared_at")) if phone else []
    if request.method == "POST" and phone:
        d = next((p for p in people if p.declaration_id == request.POST.get("declaration_id")), None)
        direction, event_id = request.POST.get("direction"), request.POST.get("event_id", "")
        # what is stored under the form's id is what is shown: a form sent again elsewhere stores
        # and shows nothing
        stored = (store_checkin(web_event(cp.checkpoint_id, d, direction, event_id, "web"))
                  if d is not None and direction in ("in", "out") and EVENT_ID.fullmatch(event_id) else None)
        if stored is not None:
            return render(request, "portal/checked_in.html", {"cp": cp, "d": d, "stored": stored})
        error = True
    for p in people:
        p.event_id = new_event_id()  # one per form: a second press stores nothing new
    return render(request, "portal/checkpoint.html", {"cp": cp, "people": people, "signed_in": bool(phone),
                                                      "here": request.get_full_path(), "error": error},
                  status=400 if error else 200)
