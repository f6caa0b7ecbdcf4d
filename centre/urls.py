"""The site's addresses."""

from django.contrib import admin
from django.urls import include, path, register_converter
from django.views.generic import RedirectView

from centre.accounts import views as accounts
from centre.checkpoints import views as checkpoints
from centre.fleet import views as fleet
from centre.ids import Id
from centre.portal import units
from centre.portal import views as portal
from centre.reports import views as reports


class PosterFormat(Id):
    """Only the formats a poster is made in: any other address is not a page (and never reaches a
    response header)."""

    regex = "png|pdf"


register_converter(PosterFormat, "poster")
register_converter(Id, "id")

urlpatterns = [
    path("", accounts.home, name="home"),
    path("accounts/login/", accounts.LoginView.as_view(), name="login"),
    path("accounts/logout/", accounts.LogoutView.as_view(), name="logout"),
    path("accounts/ping/", accounts.ping, name="ping"),
    path("accounts/password/", accounts.PasswordChangeView.as_view(), name="password"),
    path("accounts/password/done/", accounts.PasswordChangedView.as_view(), name="password-changed"),
    path("fleet/", fleet.fleet, name="fleet"),
    path("live/", fleet.live, name="live"),
    path("live/cards/", fleet.live_fragment, name="live-cards"),
    path("checkpoints/", checkpoints.checkpoint_list, name="checkpoints"),
    path("checkpoints/new/", checkpoints.checkpoint_new, name="checkpoint-new"),
    path("checkpoints/review/", checkpoints.review, name="checkpoint-review"),
    path("checkpoints/<id:checkpoint_id>/edit/", checkpoints.checkpoint_edit, name="checkpoint-edit"),
    path("checkpoints/<id:checkpoint_id>/poster.<poster:fmt>", checkpoints.poster, name="poster"),
    path("reports/", reports.reports, name="reports"),
    path("trace/", reports.trace_view, name="trace"),
    path("audit/", reports.audit, name="audit"),
    path("khai-bao/", portal.home, name="portal-home"),
    path("khai-bao/dang-nhap/", portal.sign_in, name="portal-sign-in"),
    path("khai-bao/xac-nhan/", portal.confirm, name="portal-confirm"),
    path("khai-bao/dang-xuat/", portal.sign_out, name="portal-sign-out"),
    path("khai-bao/dang-xuat-noi-khac/", portal.sign_out_elsewhere, name="portal-sign-out-elsewhere"),
    path("khai-bao/to-khai/moi/", portal.declare, name="portal-declare"),
    path("khai-bao/to-khai/<id:declaration_id>/", portal.declaration, name="portal-declaration"),
    path("khai-bao/to-khai/<id:declaration_id>/qr.png", portal.declaration_qr, name="portal-qr"),
    path("khai-bao/to-khai/<id:declaration_id>/the/", portal.declaration_card, name="portal-card"),
    path("khai-bao/to-khai/<id:declaration_id>/gia-han/", portal.renew, name="portal-renew"),
    path("khai-bao/to-khai/<id:declaration_id>/xoa/", portal.delete, name="portal-delete"),
    path("khai-bao/cua-toi/", portal.mine, name="portal-mine"),
    path("khai-bao/du-lieu-ca-nhan/", portal.privacy, name="portal-privacy"),
    path("khai-bao/manifest.webmanifest", portal.manifest, name="portal-manifest"),
    path("khai-bao/sw.js", portal.service_worker, name="portal-sw"),
    path("follow-up/", portal.follow_up, name="follow-up"),
    path("follow-up/<id:declaration_id>/xoa/", portal.follow_up_delete, name="follow-up-delete"),
    path("dia-ban/<int:province>.json", portal.wards, name="wards"),
    path("c/<id:checkpoint_id>/", portal.checkpoint_page, name="portal-checkpoint"),
    path("don-vi/", units.register, name="unit-register"),
    path("don-vi/dang-nhap/", units.sign_in, name="unit-sign-in"),
    path("don-vi/xac-nhan/", units.confirm, name="unit-confirm"),
    path("don-vi/dang-xuat/", units.sign_out, name="unit-sign-out"),
    path("don-vi/dang-xuat-noi-khac/", units.sign_out_elsewhere, name="unit-sign-out-elsewhere"),
    path("don-vi/cua-toi/", units.home, name="unit-home"),
    path("don-vi/<id:checkpoint_id>/poster.<poster:fmt>", units.poster, name="unit-poster"),
    path("don-vi/<id:checkpoint_id>/nhan-vien/", units.staff, name="unit-staff"),
    path("don-vi/<id:checkpoint_id>/khai-ho/", units.staff_declare, name="unit-staff-declare"),
    path("don-vi/<id:checkpoint_id>/in-lai/", units.staff_reprint, name="unit-staff-reprint"),
    path("don-vi/<id:checkpoint_id>/the/<id:declaration_id>.png", units.staff_card_qr, name="unit-staff-qr"),
    path("i18n/", include("django.conf.urls.i18n")),
    # the admin's own form checks the current password unthrottled: its users change it where others do
    path("admin/password_change/", RedirectView.as_view(pattern_name="password")),
    path("admin/", admin.site.urls),
]
