"""Sign-in for people and units with their phone and the SMS code just sent to it, as a Django
authentication backend: `authenticate(request, phone=..., code=..., kind=...)` then `login()`,
and views guarded by `person_required` / `unit_required` (Django's `user_passes_test`)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend
from django.contrib.auth.decorators import user_passes_test
from django.urls import reverse_lazy

from centre.portal import otp
from centre.portal.models import PhoneAccount


class PhoneCodeBackend(BaseBackend):
    """The code is checked and spent by otp.check_code (five tries, five minutes); why a code
    was refused is left on the request for the page to say."""

    def authenticate(self, request, phone=None, code=None, kind=None, **kwargs):
        if phone is None or code is None or kind not in (PhoneAccount.PERSON, PhoneAccount.UNIT):
            return None
        problem = otp.check_code(phone, kind, code)
        if problem is not None:
            if request is not None:
                request.phone_code_problem = problem
            return None
        return PhoneAccount.user_for(phone, kind)

    def get_user(self, user_id):
        return (get_user_model().objects.filter(pk=user_id, is_active=True, phone_account__isnull=False)
                .select_related("phone_account").first())


def phone_of(user, kind: str) -> str | None:
    """The signed-in phone, when `user` signed in by phone as `kind` (a person, a unit)."""
    account = getattr(user, "phone_account", None) if user.is_authenticated else None
    return account.phone if account is not None and account.kind == kind else None


person_required = user_passes_test(lambda u: phone_of(u, PhoneAccount.PERSON) is not None,
                                   login_url=reverse_lazy("portal-sign-in"))
unit_required = user_passes_test(lambda u: phone_of(u, PhoneAccount.UNIT) is not None,
                                 login_url=reverse_lazy("unit-sign-in"))


def sign_out_elsewhere(request, home: str):
    """A POST from the phone account's page (`home`, a URL name): every other session of the
    account ends, this one stays (a lost phone, or one signed in on somebody else's). The account
    has no password, so a new unusable one changes Django's session hash, which every other
    session was made with. Anything but a POST goes back to the page."""
    from django.contrib.auth import update_session_auth_hash
    from django.shortcuts import redirect, render
    from django.urls import reverse

    if request.method != "POST":
        return redirect(home)
    user = request.user
    user.set_unusable_password()
    user.save(update_fields=["password"])
    update_session_auth_hash(request, user)
    return render(request, "portal/signed_out_elsewhere.html", {"back": reverse(home)})
