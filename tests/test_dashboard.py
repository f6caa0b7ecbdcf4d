"""The centre's dashboard in headless Chromium (Debian's chromium + chromedriver), and /metrics."""

import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from drivers.mqtt import BrokerUrl
from mqtt_bridge.bridge import Bridge
from mqtt_bridge.reports import TZ
from mqtt_bridge.store import open_store
from mqtt_bridge.web import Dashboard, add_user, serve
from tests.test_reports import ev


@pytest.fixture
def site(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'centre.db'}")
    store.migrate()
    store.add_checkpoint("CP-Q1-0001", "Trường THCS Nguyễn Du", "12 Lê Lợi, Quận 1", "028 3822 1234",
                         "Phường Bến Nghé")
    store.add_checkpoint("CP-Q1-0002", "Chợ Bến Thành - Cổng B", "Lê Lợi, Quận 1", "028 3829 9274",
                         "Phường Bến Thành")
    for d, cp in (("gate-nd-01", "CP-Q1-0001"), ("gate-nd-02", "CP-Q1-0001"), ("gate-bt-01", "CP-Q1-0002")):
        store.add_device(d, cp)
    now = datetime.now(UTC)
    store.set_status("gate-nd-01", True, now, "0.1.0")
    store.set_telemetry("gate-nd-01", {"queue_depth": 0, "time_synced": True, "firmware": "0.1.0"}, now)
    store.set_status("gate-nd-02", False, now - timedelta(minutes=42), "0.1.0")
    store.set_telemetry("gate-nd-02", {"queue_depth": 17, "time_synced": False}, now - timedelta(minutes=42))
    store.set_status("gate-bt-01", True, now, "0.1.0")
    # Scans spread over the last three hours of today, local time, however early in the day it is.
    midnight = datetime.now(TZ).replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
    start = max(midnight, now - timedelta(hours=3))
    step = (now - start) / 61
    events = []
    for i in range(60):
        cp, dev = ("CP-Q1-0001", "gate-nd-01") if i % 3 else ("CP-Q1-0002", "gate-bt-01")
        events.append(ev(i, f"VHD-{i % 25:04d}", "in" if i < 45 else "out", start + step * (i + 1), cp, dev))
    store.insert_checkins(events)
    users = tmp_path / "users.json"
    add_user(users, "ytequan1", "mat-khau-manh")
    dash = Dashboard(store, Bridge(BrokerUrl.parse("mqtt://127.0.0.1:1"), store))
    dash.bridge.counters.update(messages=120, events=60, events_new=60)
    dash.bridge.rejects.update(bad_json=2, unknown_device=1)
    dash.bridge.batch_seconds.extend([0.004, 0.006, 0.012])
    server = serve(dash, users, "127.0.0.1:0")
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    store.close()


@pytest.fixture
def browser():
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--window-size=1280,900"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    yield driver
    driver.quit()


def test_login_required_and_pages_render(site, browser, tmp_path):
    shots = tmp_path / "shots"  # the README's screenshots are these, copied into docs/dashboard
    browser.get(site + "/")
    assert browser.current_url.endswith("/login")
    browser.find_element(By.NAME, "user").send_keys("ytequan1")
    browser.find_element(By.NAME, "password").send_keys("wrong")
    browser.find_element(By.CSS_SELECTOR, "button").click()
    WebDriverWait(browser, 10).until(lambda b: b.current_url.endswith("/login?failed"))
    assert "Wrong user name or password" in browser.page_source
    browser.find_element(By.NAME, "user").send_keys("ytequan1")
    browser.find_element(By.NAME, "password").send_keys("mat-khau-manh")
    browser.find_element(By.CSS_SELECTOR, "button").click()
    # click() returns before the navigation it starts: wait for the page it leads to.
    WebDriverWait(browser, 10).until(lambda b: b.current_url == site + "/")
    fleet = browser.find_element(By.ID, "fleet").text
    assert "gate-nd-01" in fleet and "gate-nd-02" in fleet and "offline" in fleet and "17" in fleet
    live = browser.find_element(By.ID, "live")
    assert "Trường THCS Nguyễn Du" in live.text and "Chợ Bến Thành" in live.text
    assert len(live.find_elements(By.CSS_SELECTOR, "svg rect")) == 48  # 24 hourly bars per checkpoint
    shots.mkdir()
    browser.save_screenshot(str(shots / "dashboard.png"))
    browser.execute_script("refresh()")  # the live refresh works from the page's own script
    browser.get(site + "/checkpoints")
    assert "Phường Bến Thành" in browser.page_source
    browser.save_screenshot(str(shots / "checkpoints.png"))
    assert (shots / "dashboard.png").stat().st_size > 10_000
    browser.find_element(By.LINK_TEXT, "poster").click()
    WebDriverWait(browser, 10).until(lambda b: b.current_url.endswith("/poster/CP-Q1-0001.png"))
    browser.get(site + "/logout")
    browser.get(site + "/api/fleet")
    assert browser.current_url.endswith("/login")


def test_api_needs_login_and_metrics_are_prometheus_text(site):
    req = urllib.request.Request(site + "/api/fleet")
    with urllib.request.urlopen(req) as r:  # redirected to the login page, never the data
        assert r.url.endswith("/login") and b"gate-nd-01" not in r.read()
    with urllib.request.urlopen(site + "/metrics") as r:
        text = r.read().decode()
    assert "vhd_bridge_devices_online 2" in text
    assert 'vhd_bridge_rejects_total{reason="bad_json"} 2' in text
    assert "vhd_bridge_events_total 60" in text
    assert 'vhd_bridge_batch_seconds{quantile="0.5"} 0.006000' in text
    with urllib.request.urlopen(site + "/login", data=b"user=ytequan1&password=guess") as r:
        assert r.url.endswith("/login?failed")  # a wrong password gets no session
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(site + "/fleet.php", data=b"x")
    assert err.value.code == 405
