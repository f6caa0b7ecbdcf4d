"""Sign-in with a throttle that holds across workers and parallel guesses; sign-out; a staff
member's own password; roles."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _


class LoginView(auth_views.LoginView):
    """Django's login; the throttle is in the authentication backend (so Django's admin has the
    same one), and a throttled attempt is told so, with 429. Unknown and known user names take
    the same time (Django hashes a dummy password for an unknown one)."""

    template_name = "centre/login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        if getattr(request, "login_throttled", False):
            return render(request, self.template_name, {"form": self.get_form(), "throttled": True,
                                                        "message": _("Too many attempts: wait 15 minutes.")},
                          status=429)
        return response


class PasswordForm(PasswordChangeForm):
    """Django's, with the current password checked as a sign-in checks it (the throttled backend):
    a session left open on a shared computer is no way to try its owner's password over and over."""

    def __init__(self, user, *args, request=None, **kwargs):
        self.request = request
        super().__init__(user, *args, **kwargs)

    def clean_old_password(self):
        from django.contrib.auth import authenticate

        old = self.cleaned_data["old_password"]
        who = authenticate(self.request, username=self.user.get_username(), password=old)
        if getattr(self.request, "login_throttled", False):
            raise ValidationError(_("Too many attempts: wait 15 minutes."), code="throttled")
        if who is None or who.pk != self.user.pk:
            raise ValidationError(self.error_messages["password_incorrect"], code="password_incorrect")
        return old


class PasswordChangeView(auth_views.PasswordChangeView):
    """Staff change the password `createuser` or the district's administrator gave them. Their
    other sessions end (Django's session hash), this one stays; the change is in the audit log.
    A phone's account has no password, so nothing to change here."""

    form_class = PasswordForm
    template_name = "centre/password.html"
    success_url = reverse_lazy("password-changed")

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.has_usable_password():
            return render(request, "centre/nothing.html", status=403)
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}

    def form_valid(self, form):
        from centre.reports.models import AuditEntry

        response = super().form_valid(form)
        AuditEntry.record(AuditEntry.PASSWORD, self.request.user.get_username(), user=self.request.user)
        return response


class PasswordChangedView(auth_views.PasswordChangeDoneView):
    template_name = "centre/password_done.html"


class LogoutView(auth_views.LogoutView):
    """Signing out is a POST (a link could sign anyone out); the address opened by hand, or an
    old bookmark, shows the button instead of a bare 405."""

    http_method_names = ["get", "post", "options"]

    def get(self, request, *args, **kwargs):
        return render(request, "centre/logout.html")


def roles(request: HttpRequest) -> dict:
    """What the navigation shows: only what the signed-in role may open. Read when a page's
    navigation asks (a portal page never does, so it costs no permission query)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"can": SimpleLazyObject(lambda: {"fleet": user.has_perm("fleet.view_device"),
                                             "live": user.has_perm("checkpoints.view_checkpoint"),
                                             "checkpoints": user.has_perm("checkpoints.view_checkpoint"),
                                             "reports": user.has_perm("reports.view_reports"),
                                             "trace": user.has_perm("reports.trace_contacts"),
                                             "audit": user.has_perm("reports.view_auditentry"),
                                             "admin": user.is_staff})}


@login_required
def home(request: HttpRequest) -> HttpResponse:
    for perm, page in (("fleet.view_device", "fleet"), ("reports.view_reports", "reports"),
                       ("reports.trace_contacts", "trace"), ("checkpoints.view_checkpoint", "live")):
        if request.user.has_perm(perm):
            return redirect(page)
    return render(request, "centre/nothing.html", status=403)


@login_required
def ping(request: HttpRequest) -> HttpResponse:
    """The least a signed-in request costs on this site: the session read and its user, no other
    query, no template. The benchmarks' floor (bench/web.py, bench/portal.py), and a session check."""
    response = HttpResponse("ok\n", content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response
