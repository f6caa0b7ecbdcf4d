"""The site's addresses."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from centre.accounts import views as accounts
from centre.checkpoints import views as checkpoints
from centre.fleet import views as fleet
from centre.reports import views as reports

urlpatterns = [
    path("", accounts.home, name="home"),
    path("accounts/login/", accounts.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("fleet/", fleet.fleet, name="fleet"),
    path("live/", fleet.live, name="live"),
    path("live/cards/", fleet.live_fragment, name="live-cards"),
    path("checkpoints/", checkpoints.checkpoint_list, name="checkpoints"),
    path("checkpoints/new/", checkpoints.checkpoint_new, name="checkpoint-new"),
    path("checkpoints/<str:checkpoint_id>/edit/", checkpoints.checkpoint_edit, name="checkpoint-edit"),
    path("checkpoints/<str:checkpoint_id>/poster.<str:fmt>", checkpoints.poster, name="poster"),
    path("reports/", reports.reports, name="reports"),
    path("trace/", reports.trace_view, name="trace"),
    path("audit/", reports.audit, name="audit"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
