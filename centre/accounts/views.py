"""Sign-in with a throttle that holds across workers and parallel guesses; sign-out; roles."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from centre.accounts.models import LoginAttempt


def client_address(request) -> str:
    """The client's address: behind our proxy, the last hop of the header it writes."""
    address = request.META.get("REMOTE_ADDR", "")
    if settings.CLIENT_ADDRESS_HEADER:
        address = request.META.get(settings.CLIENT_ADDRESS_HEADER, address).split(",")[-1].strip()
    return address


def _keys(request, username: str) -> tuple[str, str]:
    tag = hmac.new(settings.SECRET_KEY.encode(), username.strip().lower().encode(), hashlib.sha256).hexdigest()
    return f"ip:{client_address(request)}"[:80], f"user:{tag[:32]}"


class LoginView(auth_views.LoginView):
    """Django's login, with every attempt recorded *before* its password is checked: parallel
    guesses each count, in the database every gunicorn worker shares. Unknown and known user
    names take the same time (Django hashes a dummy password for an unknown one)."""

    template_name = "centre/login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        ip_key, user_key = _keys(request, request.POST.get("username", "")[:150])
        LoginAttempt.objects.bulk_create([LoginAttempt(key=ip_key), LoginAttempt(key=user_key)])
        since = timezone.now() - timedelta(seconds=settings.LOGIN_WINDOW_SECONDS)
        recent = LoginAttempt.objects.filter(at__gte=since)
        if (recent.filter(key=user_key).count() > settings.LOGIN_MAX_PER_USER
                or recent.filter(key=ip_key).count() > settings.LOGIN_MAX_PER_ADDRESS):
            return render(request, self.template_name, {"form": self.get_form(), "throttled": True,
                                                        "message": _("Too many attempts: wait 15 minutes.")},
                          status=429)
        response = super().post(request, *args, **kwargs)
        if request.user.is_authenticated:
            LoginAttempt.objects.filter(key=user_key).delete()
        LoginAttempt.objects.filter(at__lt=since).delete()
        return response


def roles(request) -> dict:
    """What the navigation shows: only what the signed-in role may open."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"can": {"fleet": user.has_perm("fleet.view_device"),
                    "live": user.has_perm("checkpoints.view_checkpoint"),
                    "checkpoints": user.has_perm("checkpoints.view_checkpoint"),
                    "reports": user.has_perm("reports.view_reports"),
                    "trace": user.has_perm("reports.trace_contacts"),
                    "audit": user.has_perm("reports.view_auditentry"),
                    "admin": user.is_staff}}


@login_required
def home(request):
    for perm, page in (("fleet.view_device", "fleet"), ("reports.view_reports", "reports"),
                       ("reports.trace_contacts", "trace"), ("checkpoints.view_checkpoint", "live")):
        if request.user.has_perm(perm):
            return redirect(page)
    return render(request, "centre/nothing.html", status=403)


def unit_of(user) -> str | None:
    """The unit a unit manager is limited to; None for district-wide roles."""
    if user.has_perm("reports.view_auditentry") or user.has_perm("fleet.view_device") \
            or user.has_perm("reports.trace_contacts"):
        return None
    membership = getattr(user, "unit_membership", None)
    return membership.unit if membership else ""
