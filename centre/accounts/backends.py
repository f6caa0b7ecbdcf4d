"""Password sign-in for staff with one throttle on every path that checks a password (the site's
sign-in page and Django's admin alike), counted in the database every worker shares."""

from __future__ import annotations

import ipaddress
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from centre.accounts.models import LoginAttempt
from centre.keyed import keyed_hash


def client_address(request) -> str:
    """The client's address as the throttles count it: behind our proxy, the last hop of the header
    it writes. An IPv6 client counts by its /64: a phone, a home or a server is given a whole /64
    and could take a new address of it for every try; an IPv4 address written as IPv6 counts as
    itself."""
    address = request.META.get("REMOTE_ADDR", "") if request is not None else ""
    if request is not None and settings.CLIENT_ADDRESS_HEADER:
        address = request.META.get(settings.CLIENT_ADDRESS_HEADER, address).split(",")[-1].strip()
    try:
        ip = ipaddress.ip_address(address.split("%")[0])  # without an interface's zone
    except ValueError:
        return address
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ipaddress.ip_network(f"{ip}/64", strict=False)) if ip.version == 6 else str(ip)


def _keys(request, username: str) -> tuple[str, str, str]:
    """(this address, this user name from this address, this user name from anywhere)."""
    tag = keyed_hash(username.strip().lower())
    address = client_address(request)
    return f"ip:{address}"[:80], f"pair:{tag[:24]}:{address}"[:80], f"user:{tag[:32]}"


class ThrottledModelBackend(ModelBackend):
    """Every attempt is recorded *before* its password is checked, so parallel guesses each
    count. What is limited is the guesser, not the owner: five tries per user name from one
    address in the window (the owner elsewhere signs in as usual), thirty from one address, and a
    high ceiling per user name from everywhere against guessing spread over many addresses.
    A throttled attempt is refused without checking the password, and marks the request so the
    sign-in page can say why."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None or password is None:
            return None
        ip_key, pair_key, user_key = _keys(request, str(username)[:150])
        LoginAttempt.objects.bulk_create([LoginAttempt(key=k) for k in (ip_key, pair_key, user_key)])
        since = timezone.now() - timedelta(seconds=settings.LOGIN_WINDOW_SECONDS)
        recent = LoginAttempt.objects.filter(at__gte=since)
        if (recent.filter(key=pair_key).count() > settings.LOGIN_MAX_PER_USER
                or recent.filter(key=ip_key).count() > settings.LOGIN_MAX_PER_ADDRESS
                or recent.filter(key=user_key).count() > settings.LOGIN_MAX_PER_USER_EVERYWHERE):
            if request is not None:
                request.login_throttled = True
            raise PermissionDenied  # no other backend is asked
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None:
            LoginAttempt.objects.filter(key__in=(pair_key, user_key)).delete()
        # counts kept as long as the longest window any limit reads (codes per address: an hour)
        LoginAttempt.objects.filter(at__lt=timezone.now() - timedelta(seconds=settings.ATTEMPTS_KEPT_SECONDS)).delete()
        return user
