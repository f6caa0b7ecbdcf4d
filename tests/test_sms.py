"""The HTTP SMS backend against a local HTTP stand-in for a gateway: delivered, refused, too slow."""

import os
import subprocess
import sys
import time

import pytest

from tests.chain import ROOT

TEMPLATE = '{"msisdn": "{phone}", "content": "{text}", "brandname": "VHD"}'


def _send(tmp_path, url: str, template: str = TEMPLATE) -> subprocess.CompletedProcess:
    (tmp_path / "token").write_text("gateway-secret\n")
    env = {**os.environ, "VHD_CENTRE_HOME": str(tmp_path), "VHD_CENTRE_DB": f"sqlite:///{tmp_path / 'c.db'}",
           "DJANGO_SETTINGS_MODULE": "centre.settings", "VHD_SMS_BACKEND": "http", "VHD_SMS_URL": url,
           "VHD_SMS_TOKEN_FILE": str(tmp_path / "token"), "VHD_SMS_TEMPLATE": template}
    code = ("import django, sys; django.setup()\n"
            "from centre.portal.sms import SmsError, send\n"
            "try:\n    send('0912345678', 'VHD: ma xac nhan 123456')\n"
            "except SmsError as e:\n    print(e); sys.exit(3)\n")
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=60)


def test_http_gateway_gets_the_filled_template_and_the_token(tmp_path, gateway):
    gateway.mode = "ok"
    r = _send(tmp_path, gateway.url)
    assert r.returncode == 0, r.stderr
    ((auth, body),) = gateway.received
    assert auth == "Bearer gateway-secret"
    assert body == {"msisdn": "0912345678", "content": "VHD: ma xac nhan 123456", "brandname": "VHD"}


@pytest.mark.parametrize("mode, says", [("fail", "từ chối"), ("slow", "không phản hồi"),  # in Vietnamese
                                        ("garbled", "không phản hồi"), ("drip", "không phản hồi")])
def test_failing_or_slow_gateway_is_a_clear_message_within_the_timeout(tmp_path, gateway, mode, says):
    """A garbled answer was a traceback (http.client's BadStatusLine is no OSError), and an answer
    sent a line at a time held the page for as long as it went on: the 5 s bounded each read."""
    gateway.mode = mode
    t0 = time.monotonic()
    r = _send(tmp_path, gateway.url)
    assert r.returncode == 3 and says in r.stdout and "Traceback" not in r.stderr
    assert time.monotonic() - t0 < 30  # the 5 s timeout for the whole answer, never a hung page


def test_a_gateway_that_redirects_is_told_and_gets_no_token_elsewhere(tmp_path, gateway):
    """urllib followed a 302 with a GET that carried the bearer token to wherever it pointed, and
    counted that GET's 200 as the code sent: the person waited for an SMS that never came."""
    gateway.mode = "moved"
    r = _send(tmp_path, gateway.url)
    assert r.returncode == 3 and "từ chối" in r.stdout and "Traceback" not in r.stderr
    assert "SMS gateway answered 302" in r.stderr
    assert len(gateway.received) == 1 and isinstance(gateway.received[0][1], dict)  # the POST, no GET


@pytest.mark.parametrize("template, says", [
    ('{"msisdn": "{phone}", "content": "{text}"', "is not JSON"),
    ('["{phone}", "{text}"]', "is not a JSON object"),
    ('{"msisdn": "{phone}", "content": "VHD"}', "has no {text}"),
    ('{"msisdn": "{phone}", "x": ' + "[" * 5000 + "]" * 5000 + "}", "is not JSON (nested too deeply)"),
])
def test_a_broken_template_tells_the_operator_and_asks_the_person_to_retry(tmp_path, gateway, template, says):
    """It was a traceback on every sign-in (json.loads, or .items() of a list)."""
    gateway.mode = "ok"
    r = _send(tmp_path, gateway.url, template)
    assert r.returncode == 3 and "không phản hồi" in r.stdout and "Traceback" not in r.stderr
    assert f"the SMS template {says}" in r.stderr and "fix VHD_SMS_TEMPLATE" in r.stderr
    assert gateway.received == []


def test_unreachable_gateway(tmp_path):
    from provisioning.mosquitto import free_port

    r = _send(tmp_path, f"http://127.0.0.1:{free_port()}/send")
    assert r.returncode == 3 and "không phản hồi" in r.stdout


def test_an_expired_code_is_refused(tmp_path):
    """Codes live VHD_SMS_CODE_SECONDS (5 minutes; one second here): a right code too late is
    refused, and it cannot be used afterwards either."""
    env = {**os.environ, "VHD_CENTRE_HOME": str(tmp_path), "VHD_CENTRE_DB": f"sqlite:///{tmp_path / 'c.db'}",
           "DJANGO_SETTINGS_MODULE": "centre.settings", "VHD_SMS_BACKEND": "file",
           "VHD_SMS_FILE": str(tmp_path / "sms.jsonl"), "VHD_SMS_CODE_SECONDS": "1"}
    r = subprocess.run([sys.executable, "-m", "centre.cli", "--db", env["VHD_CENTRE_DB"], "migrate"], env=env,
                       cwd=ROOT, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    code = ("import django, json, re, time, os; django.setup()\n"
            "from centre.portal import otp\n"
            "assert otp.request_code('0912345678', 'person', '127.0.0.1') is None\n"
            "sms = json.loads(open(os.environ['VHD_SMS_FILE']).read().splitlines()[-1])['text']\n"
            "code = re.search(r'(\\d{6})', sms).group(1)\n"
            "time.sleep(1.5)\n"
            "print(otp.check_code('0912345678', 'person', code), otp.check_code('0912345678', 'person', code))\n")
    r = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["expired", "expired"]


@pytest.mark.parametrize("backend", ["locmem", "centre.portal.sms.LocmemBackend"])
def test_the_backend_is_chosen_by_name_or_dotted_path_and_tests_read_its_outbox(tmp_path, backend):
    env = {**os.environ, "VHD_CENTRE_HOME": str(tmp_path), "VHD_CENTRE_DB": f"sqlite:///{tmp_path / 'c.db'}",
           "DJANGO_SETTINGS_MODULE": "centre.settings", "VHD_SMS_BACKEND": backend}
    code = ("import django; django.setup()\nfrom centre.portal import sms\n"
            "sms.send('0912345678', 'VHD: ma xac nhan 123456')\nprint(sms.outbox)\n")
    r = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "[('0912345678', 'VHD: ma xac nhan 123456')]", r.stderr


def test_an_unknown_backend_is_logged_and_the_person_told_to_retry(tmp_path):
    env = {**os.environ, "VHD_CENTRE_HOME": str(tmp_path), "VHD_CENTRE_DB": f"sqlite:///{tmp_path / 'c.db'}",
           "DJANGO_SETTINGS_MODULE": "centre.settings", "VHD_SMS_BACKEND": "nowhere.Backend"}
    code = ("import django; django.setup()\nfrom centre.portal import sms\n"
            "try:\n    sms.send('0912345678', 'x')\nexcept sms.SmsError as e:\n    print(e)\n")
    r = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "không phản hồi" in r.stdout and "nowhere.Backend" in r.stderr and "Traceback" not in r.stderr
