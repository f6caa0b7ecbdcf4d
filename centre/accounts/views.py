"""Sign-in with a throttle that holds across workers and parallel guesses; sign-out; roles."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
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
