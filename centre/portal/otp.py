"""Phone numbers and one-time codes: sign-in by SMS, limited per number and per address."""

from __future__ import annotations

import hmac
import logging
import secrets
import threading
from datetime import timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from centre.accounts.models import LoginAttempt
from centre.keyed import keyed_hash
from centre.portal import sms
from centre.portal.models import SmsCode

logger = logging.getLogger(__name__)


def _hash(phone: str, code: str) -> str:
    return keyed_hash(f"{phone}:{code}")


def recent_attempts(key: str, seconds: int) -> int:
    return LoginAttempt.objects.filter(key=key, at__gte=timezone.now() - timedelta(seconds=seconds)).count()


def take(*limits: tuple[str, int, int]) -> int | None:
    """One more against each limit (key, at most, within seconds), recorded before it is
    counted, as sign-in attempts are: parallel requests each see the others, where counting first
    let a burst of them all pass (five SMS codes to one number whose limit is three). None, with
    nothing kept, when any key would go past its most; else how many the first key had before."""
    made = LoginAttempt.objects.bulk_create([LoginAttempt(key=key) for key, _, _ in limits])
    counts = [recent_attempts(key, seconds) for key, _, seconds in limits]
    if any(n > most for n, (_, most, _) in zip(counts, limits, strict=True)):
        LoginAttempt.objects.filter(pk__in=[m.pk for m in made]).delete()
        return None
    return counts[0] - 1


def forget_old() -> int:
    """Codes past their time and attempts past the longest window a limit counts in: they hold
    phone numbers and addresses the mission no longer needs. Done at every code asked for and by
    the daily retention; returns the codes forgotten."""
    kept_from = timezone.now() - timedelta(seconds=settings.ATTEMPTS_KEPT_SECONDS)
    LoginAttempt.objects.filter(at__lt=kept_from).delete()
    return SmsCode.objects.filter(created_at__lt=kept_from, expires_at__lt=timezone.now()).delete()[0]


def request_code(phone: str, purpose: str, address: str, send: bool = True, background: bool = False) -> str | None:
    """Make a code and send it; None when made, else why not (too many requests). The answer
    never says whether the number is known. With send=False the same work is done and the code
    kept, but no SMS goes out (a unit's sign-in with a number no checkpoint has: the same answers
    follow, "wrong code" included); background=True hands the SMS to a thread, so the gateway's
    time is not the answer's either."""
    phone_key, addr_key = f"sms-phone:{_hash(phone, 'limit')[:32]}", f"sms-ip:{address}"[:80]
    if take((phone_key, settings.SMS_MAX_PER_PHONE, 900), (addr_key, settings.SMS_MAX_PER_ADDRESS, 3600)) is None:
        return "too_many"
    forget_old()
    code = f"{secrets.randbelow(10**6):06d}"
    SmsCode.objects.filter(phone=phone, purpose=purpose, used=False).update(used=True)  # one live code
    SmsCode.objects.create(phone=phone, purpose=purpose, code_hash=_hash(phone, code),
                           expires_at=timezone.now() + timedelta(seconds=settings.SMS_CODE_SECONDS))
    text = code_text(code, settings.SMS_CODE_SECONDS // 60, settings.SMS_PLAIN)
    if send and background:
        threading.Thread(target=_send_quietly, args=(phone, text), name="sms", daemon=True).start()
    elif send:
        sms.send(phone, text)
    return None


def code_text(code: str, minutes: int, plain: bool) -> str:
    """The code's SMS in Vietnamese with its diacritics (one Unicode SMS), or without them where the
    gateway or its price needs plain text (VHD_SMS_PLAIN)."""
    if plain:
        return f"VHD: ma xac nhan {code}, hieu luc {minutes} phut. Khong chia se ma nay."
    return f"VHD: mã xác nhận {code}, hiệu lực {minutes} phút. Không chia sẻ mã này."


def _send_quietly(phone: str, text: str) -> None:
    try:
        sms.send(phone, text)
    except sms.SmsError as exc:  # nobody waits for this answer: the log says it (never the number)
        logger.warning("a unit's sign-in code was not sent: %s", exc)


def check_code(phone: str, purpose: str, code: str) -> str | None:
    """None if the code is right (and it is spent), else why not: wrong, expired or too many tries."""
    live = SmsCode.objects.filter(phone=phone, purpose=purpose, used=False).order_by("-created_at").first()
    if live is None:
        return "expired"
    if live.expires_at <= timezone.now():
        live.used = True
        live.save(update_fields=["used"])
        return "expired"
    # Count the try before comparing: parallel guesses each cost one.
    SmsCode.objects.filter(pk=live.pk).update(tries=F("tries") + 1)
    live.refresh_from_db()
    if live.tries > settings.SMS_MAX_TRIES:
        SmsCode.objects.filter(pk=live.pk).update(used=True)
        return "too_many_tries"
    if not hmac.compare_digest(live.code_hash, _hash(phone, (code or "").strip())):
        return "wrong"
    # Spent once: of two requests sending the right code together, the one that marks it used
    # signs in (and makes a unit's checkpoint); the other finds it spent, as a later one would.
    if SmsCode.objects.filter(pk=live.pk, used=False).update(used=True) != 1:
        return "expired"
    return None
