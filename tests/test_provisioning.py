"""Provisioning and security against a real mosquitto running the generated configuration."""

import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import paho.mqtt.client as mqtt
import pytest
from PIL import Image

from common.authority import Authority, AuthorityError
from drivers.decoder import make_decoder
from drivers.mqtt import BrokerUrl
from mqtt_bridge.bridge import Bridge
from mqtt_bridge.locate import migrate_database
from mqtt_bridge.store import open_store
from protocol.token import TrustStore, verify_token
from provisioning.broker import write_broker_config
from provisioning.cli import main as provision
from provisioning.enroll import broker_admin
from provisioning.mosquitto import find_mosquitto, free_port
from provisioning.mosquitto_auth import BRIDGE_USER, check_password, hash_password
from tests.chain import crowd

ROOT = Path(__file__).resolve().parent.parent


def test_authority_rotation_and_revocation(tmp_path):
    a = Authority(tmp_path / "auth")
    first = a.init()
    with pytest.raises(AuthorityError):
        a.init()
    assert oct((tmp_path / "auth" / "keys" / f"{first.kid}.pem").stat().st_mode & 0o777) == "0o600"
    second = a.rotate()
    assert a.signing_key().public_key() is not None
    from protocol.token import key_id

    assert key_id(a.signing_key().public_key()) == second.kid  # newest signs
    from common.authority import load_signing_key

    web_key = tmp_path / "auth" / "signing-key.pem"  # the web site's credential follows the keys
    assert key_id(load_signing_key(web_key).public_key()) == second.kid
    assert web_key.stat().st_mode & 0o777 == 0o600
    a.revoke(second.kid)
    assert key_id(load_signing_key(web_key).public_key()) == first.kid
    a.revoke(first.kid)
    trust = a.trust()
    assert len(trust["public_keys"]) == 2 and set(trust["revoked_key_ids"]) == {second.kid, first.kid}
    with pytest.raises(AuthorityError, match="revoked"):
        a.signing_key()
    assert not web_key.exists()  # nothing left to sign with: the site must not sign with a revoked key


def test_a_gates_config_holds_any_name_the_database_holds():
    """A checkpoint name stored before names were checked, with a newline, a quote, a backslash, a
    tab or DEL in it, still makes a config the gate reads back as the same name."""
    import tomllib

    from provisioning.enroll import gate_toml

    for name in ('Chợ "Lớn"\n[trust]\npublic_keys = []', "C:\\x\t\x7f\x00", "Trạm\u202e\u00a0y tế"):
        text = gate_toml("gate-1", "CP-1", name, "mqtts://broker.example:8883",
                         {"public_keys": ["a2V5"], "revoked_key_ids": []}, True)
        assert tomllib.loads(text)["gate"]["checkpoint_name"] == name


def test_a_posters_long_text_stays_on_the_page_and_says_it_was_cut():
    """A word wider than the page ran off it, and a name cut at its line limit gave no sign."""
    from PIL import ImageDraw, ImageFont

    from common.fonts import find_font
    from common.poster import _wrap

    draw = ImageDraw.Draw(Image.new("RGB", (10, 10)))
    font = ImageFont.truetype(find_font(), 32)
    lines = _wrap(draw, "Số12đườngLêLợiphườngBếnNghé" * 8 + " Ban quản lý chợ" * 20, font, 600, most=2)
    assert len(lines) == 2 and lines[-1].endswith("…") and all(draw.textlength(x, font=font) <= 600 for x in lines)
    assert lines[0].startswith("Số12đường")  # the long word broken, not left for a line of its own
    assert _wrap(draw, "Chợ  Bến Thành", font, 600, most=2) == ["Chợ Bến Thành"]  # what fits is as it was


def test_the_brokers_names_are_dns_names_or_addresses(tmp_path, capsys):
    """What the broker's certificate names: a Vietnamese name in its ASCII form; a line break, a
    space or an empty name refused in one line before anything is written."""
    from provisioning.tls import server_names

    assert server_names(["Broker.Example.", "máychủ.vn", "*.gates.example", "10.0.0.5", "::1"]) == [
        "broker.example", "xn--mych-5na3327b.vn", "*.gates.example", "10.0.0.5", "::1"]
    for bad in ("x\ninclude_dir /tmp", "a b", "", "-a.example", "a" * 64 + ".example", "a..example"):
        assert provision(["--home", str(tmp_path), "broker-config", "--hostname", "broker.example",
                          f"--hostname={bad}"]) == 1
        err = capsys.readouterr().err
        assert err.startswith("vhd-provision: --hostname") and len(err.strip().splitlines()) == 1, err
    assert not any(tmp_path.iterdir())


def test_password_hash_format():
    h = hash_password("s3cret", salt=b"0123456789ab")
    assert h["iterations"] == 101 and len(h["salt"]) == 16
    assert check_password("s3cret", h) and not check_password("nope", h)


class Broker:
    """mosquitto running the standalone configuration `broker-config` generates."""

    def __init__(self, folder: Path):
        self.tls_port, self.local_port = free_port(), free_port()
        self.files = write_broker_config(folder, ["127.0.0.1", "localhost"], self.tls_port,
                                         self.local_port, "127.0.0.1", folder / "data")
        (folder / "data").mkdir(exist_ok=True)
        conf = self.files.conf.read_text()
        if os.geteuid() == 0:
            conf = "user root\n" + conf
        self.files.conf.write_text(conf)
        self.proc = None

    @property
    def admin_url(self) -> str:
        return f"mqtt://127.0.0.1:{self.local_port}"

    def start(self):
        self.proc = subprocess.Popen([find_mosquitto(), "-c", str(self.files.conf)],
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.tls_port), 0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("broker did not start")

    def add_gate(self, device_id: str, password: str) -> None:
        """A gate's login made in the running broker, as `device enroll` makes it."""
        with broker_admin(self.files.folder, self.admin_url) as admin:
            admin.add_gate(device_id, password)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture
def broker(tmp_path):
    b = Broker(tmp_path / "broker").start()
    yield b
    b.stop()


def client(broker, user=None, password=None, tls=True):
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"t-{user}-{time.monotonic_ns()}",
                    protocol=mqtt.MQTTv5)
    if user:
        c.username_pw_set(user, password)
    if tls:
        c.tls_set(ca_certs=str(broker.files.ca), cert_reqs=ssl.CERT_REQUIRED)
    result = {}
    c.on_connect = lambda cl, u, f, rc, p: result.setdefault("connect", rc)
    c.on_subscribe = lambda cl, u, mid, rcs, p: result.setdefault("suback", rcs)
    c.on_publish = lambda cl, u, mid, rc, p: result.setdefault("puback", []).append(rc)
    c.on_message = lambda cl, u, m: result.setdefault("messages", []).append((m.topic, m.payload))
    c.result = result
    port = broker.tls_port if tls else broker.local_port
    c.connect("127.0.0.1", port)
    c.loop_start()
    deadline = time.monotonic() + 5
    while "connect" not in result and time.monotonic() < deadline:
        time.sleep(0.02)
    return c


def wait(pred, timeout=5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not pred():
        time.sleep(0.02)
    return pred()


def _bridge_on(broker, store) -> tuple[threading.Event, threading.Thread]:
    """A bridge on the broker's loopback listener with its own login, ingesting on a thread until
    the event is set."""
    bridge = Bridge(store, Bridge.link_for(BrokerUrl.parse(f"mqtt://127.0.0.1:{broker.local_port}"),
                                           username=BRIDGE_USER,
                                           password=broker.files.bridge_password.read_text().strip()))
    stop = threading.Event()
    thread = threading.Thread(target=bridge.run, args=(stop,), daemon=True)
    thread.start()
    return stop, thread


def test_generated_broker_config_enforces_logins_and_acls(broker):
    broker.add_gate("gate-a", "pw-a")
    broker.add_gate("gate-b", "pw-b")
    bridge_pw = broker.files.bridge_password.read_text().strip()

    anon = client(broker)
    assert anon.result["connect"].is_failure  # anonymous login refused
    anon.loop_stop()
    wrong = client(broker, "gate-a", "not-it")
    assert wrong.result["connect"].is_failure
    wrong.loop_stop()

    bridge = client(broker, BRIDGE_USER, bridge_pw, tls=False)  # the loopback listener
    bridge2 = client(broker, BRIDGE_USER, bridge_pw, tls=False)  # a second bridge, same login
    assert not bridge.result["connect"].is_failure and not bridge2.result["connect"].is_failure
    bridge.subscribe([("$share/vhd-bridge/vhd/v1/gates/+/events", 1)])
    assert wait(lambda: "suback" in bridge.result)
    assert bridge.result["suback"][0].value == 1

    a = client(broker, "gate-a", "pw-a")
    assert not a.result["connect"].is_failure
    # The plugin checks subscriptions: no other gate's acks, and no share of every gate's events.
    a.subscribe([("vhd/v1/gates/gate-b/ack", 1), ("vhd/v1/gates/gate-a/ack", 1),
                 ("$share/vhd-bridge/vhd/v1/gates/+/events", 1), ("vhd/v1/gates/#", 1)])
    assert wait(lambda: "suback" in a.result)
    assert [rc.value for rc in a.result["suback"]] == [135, 1, 135, 135]
    a.publish("vhd/v1/gates/gate-b/events", b'{"spoof": 1}', qos=1)
    a.publish("vhd/v1/gates/gate-a/events", b'{"own": 1}', qos=1)
    assert wait(lambda: len(a.result.get("puback", [])) == 2)
    assert a.result["puback"][0].value == 135
    assert wait(lambda: bridge.result.get("messages"))
    assert [t for t, _ in bridge.result["messages"]] == ["vhd/v1/gates/gate-a/events"]

    bridge.publish("vhd/v1/gates/gate-b/ack", b'{"event_ids": ["for-b"]}', qos=1)
    bridge.publish("vhd/v1/gates/gate-a/ack", b'{"event_ids": []}', qos=1)
    assert wait(lambda: a.result.get("messages"))
    assert [t for t, _ in a.result["messages"]] == ["vhd/v1/gates/gate-a/ack"]  # never B's acks

    # Gate B logging in with gate A's client id gets its own (the listener uses the login as
    # client id): gate A stays connected.
    b = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="gate-a", protocol=mqtt.MQTTv5)
    b.username_pw_set("gate-b", "pw-b")
    b.tls_set(ca_certs=str(broker.files.ca), cert_reqs=ssl.CERT_REQUIRED)
    b_conn = []
    b.on_connect = lambda cl, u, f, rc, p: b_conn.append(rc)
    b.connect("127.0.0.1", broker.tls_port)
    b.loop_start()
    assert wait(lambda: b_conn) and not b_conn[0].is_failure
    bridge.publish("vhd/v1/gates/gate-a/ack", b'{"event_ids": ["still-a"]}', qos=1)
    assert wait(lambda: len(a.result.get("messages", [])) == 2)
    assert a.is_connected()
    for c in (a, b, bridge, bridge2):
        c.disconnect()
        c.loop_stop()


def test_enrolled_bundle_runs_a_gate_whose_events_reach_the_bridge(tmp_path, broker, pg_url, authority,
                                                                  careless_umask):
    home = tmp_path / "centre"
    shutil.copytree(broker.files.folder, home / "broker", ignore=shutil.ignore_patterns("data"))
    assert provision(["--home", str(home), "authority", "init"]) == 0
    assert provision(["--home", str(home), "checkpoint", "add", "CP-NGUYENDU", "--name",
                      "Trường THCS Nguyễn Du", "--address", "12 Lê Lợi, Quận 1", "--phone", "0283822",
                      "--unit", "UBND Phường Bến Nghé", "--db", pg_url,
                      "--out", str(tmp_path / "posters")]) == 0
    poster = Image.open(tmp_path / "posters" / "poster-CP-NGUYENDU.png").convert("L")
    codes = make_decoder("zxing").decode(np.asarray(poster))
    assert [c.text for c in codes] == ["VHDCP:CP-NGUYENDU"]
    assert (tmp_path / "posters" / "poster-CP-NGUYENDU.pdf").read_bytes().startswith(b"%PDF")

    url = f"mqtts://127.0.0.1:{broker.tls_port}"
    admin = ["--admin-broker", broker.admin_url]
    assert provision(["--home", str(home), "device", "enroll", "--checkpoint", "CP-NGUYENDU",
                      "--broker", url, "--db", pg_url, "--device-id", "gate-nd-01",
                      "--out", str(tmp_path / "bundles"), *admin]) == 0
    assert provision(["--home", str(home), "device", "enroll", "--checkpoint", "CP-NOWHERE",
                      "--broker", url, "--db", pg_url, "--out", str(tmp_path / "bundles"), *admin]) == 1
    bundle = tmp_path / "bundles" / "gate-nd-01"
    assert {p.name for p in bundle.iterdir()} == {"gate.toml", "mqtt-password", "ca.crt"}
    for secret in (bundle, bundle / "mqtt-password", bundle / "gate.toml", bundle.with_suffix(".tar.gz")):
        assert secret.stat().st_mode & 0o077 == 0, secret  # private whatever the umask
    # No restart: the running broker's plugin took the new login at enrollment.

    # Sign tokens with the centre's authority, as the declaration system would.
    a = Authority(home / "authority")
    from protocol.token import issue_token

    class Issuer:
        public = a.keys()[0].public_key

        def live_token(self, decl, name):
            now = int(time.time())
            return issue_token(a.signing_key(), decl, name, now - 60, now + 3600)

    frames = crowd(tmp_path / "frames", Issuer(), 12)
    store = open_store(pg_url)
    stop, t = _bridge_on(broker, store)
    try:
        if os.geteuid() == 0:
            _run_installed_gate(tmp_path, bundle.with_suffix(".tar.gz"), frames, pg_url)
        else:  # no other uid to become: the daemon from the bundle as this user
            r = subprocess.run([sys.executable, "-m", "device.cli", "run", "--config", str(bundle / "gate.toml"),
                                "--simulate", "--state-dir", str(tmp_path / "state"), "--drain-seconds", "60",
                                "--camera", f"images:{frames}?fps=10"], cwd=ROOT, capture_output=True,
                               text=True, timeout=120)
            assert r.returncode == 0 and r.stderr.count("feedback accepted") == 12, r.stderr[-2000:]
        assert store.count_checkins() == 12
        assert {c.device_id for c in store.checkins()} == {"gate-nd-01"}
    finally:
        stop.set()
        t.join(10)
        store.close()


def _run_installed_gate(tmp_path: Path, archive: Path, frames: Path, pg_url: str) -> None:
    """The bundle installed as install-pi.sh's last step installs it, then vhd-gate.service run as
    systemd runs it: its own uid, the MQTT password as a credential, no home. This machine has no
    camera, OLED or GPIO, so the config is set as on a bench: frames from a folder, no panel."""
    from tests.units import ServiceRun, Unit

    root = tmp_path / "pi"
    assert provision(["device", "install", str(archive), "--root", str(root), "--venv", sys.prefix]) == 0
    etc = root / "etc" / "vhd-gate"
    bench = root / "var" / "lib" / "vhd-gate-frames"
    shutil.copytree(frames, bench)
    for path in (bench, *bench.iterdir()):
        path.chmod(0o755 if path.is_dir() else 0o644)
    config = (etc / "gate.toml").read_text()
    for old, new in (('source = "picamera2"', 'source = "images:/var/lib/vhd-gate-frames?fps=10&loop"'),
                     ('driver = "ssd1306"', 'driver = "none"'), ('driver = "gpio"', 'driver = "none"')):
        assert old in config
        config = config.replace(old, new)
    (etc / "gate.toml").write_text(config)
    run = ServiceRun(Unit.parse((root / "etc" / "systemd" / "system" / "vhd-gate.service").read_text()), root,
                     cwd_repo=ROOT)
    for name in ("gate.toml", "mqtt-password"):  # root:vhd-gate 0640, as the install on a Pi leaves them
        os.chown(etc / name, 0, run.uid)
    run.start(stderr=subprocess.PIPE, text=True)
    try:
        assert run.ready(60), "no READY=1"
        reader = open_store(pg_url)  # its own connection: the bridge's is busy in its thread
        try:
            assert wait(lambda: reader.count_checkins() == 12, timeout=60)
        finally:
            reader.close()
    finally:
        code = run.stop()
        err = run.proc.stderr.read()
    assert code == 0, err[-3000:]
    assert err.count("feedback accepted") == 12 and "Traceback" not in err, err[-3000:]


def test_device_install_into_a_tree(tmp_path, pg_url, broker):
    home = tmp_path / "centre"
    assert provision(["--home", str(home), "authority", "init"]) == 0
    shutil.copytree(broker.files.folder, home / "broker", ignore=shutil.ignore_patterns("data"))
    assert provision(["--home", str(home), "checkpoint", "add", "CP-1", "--name", "Cổng 1", "--db", pg_url,
                      "--out", str(tmp_path)]) == 0
    assert provision(["--home", str(home), "device", "enroll", "--checkpoint", "CP-1", "--broker",
                      "mqtts://broker.example:8883", "--db", pg_url, "--out", str(tmp_path / "b"),
                      "--direction", "in", "--admin-broker", broker.admin_url]) == 0
    archive = next((tmp_path / "b").glob("*.tar.gz"))
    shutil.rmtree(archive.with_suffix("").with_suffix(""))  # only the archive travels to the Pi
    root = tmp_path / "root"
    assert provision(["device", "install", str(archive), "--root", str(root), "--venv", sys.prefix]) == 0
    etc = root / "etc" / "vhd-gate"
    assert oct((etc / "mqtt-password").stat().st_mode & 0o777) == "0o640"
    from device.config import load

    cfg = load(etc / "gate.toml")
    assert cfg.mqtt.url == "mqtts://broker.example:8883" and cfg.mqtt.ca_file == "ca.crt"
    assert cfg.gate.direction == "in"
    assert len(cfg.trust.public_keys) == 1
    unit = (root / "etc" / "systemd" / "system" / "vhd-gate.service").read_text()
    assert f"ExecStart={sys.prefix}/bin/vhd-gate run" in unit and "@VENV@" not in unit
    assert (root / "var" / "lib" / "vhd-gate").stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize("member", ["../escape.txt", "/etc/evil.txt", "gate-x/link"])
def test_a_bundle_with_anything_but_files_under_its_folder_is_refused(tmp_path, member, capsys):
    import io
    import tarfile

    archive = tmp_path / "gate-x.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name in ("gate-x/gate.toml", "gate-x/mqtt-password", member):
            info = tarfile.TarInfo(name)
            if name.endswith("link"):
                info.type, info.linkname = tarfile.SYMTYPE, "/etc/shadow"
                tar.addfile(info)
            else:
                info.size = 2
                tar.addfile(info, io.BytesIO(b"x\n"))
    assert provision(["device", "install", str(archive), "--root", str(tmp_path / "root"),
                      "--venv", sys.prefix]) == 1
    assert "is not a device bundle" in capsys.readouterr().err
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "gate-x").exists()


def test_systemd_units_verify(tmp_path):
    from provisioning.enroll import render_unit

    names = ["vhd-gate.service", "vhd-bridge.service", "vhd-retention.service", "vhd-retention.timer"]
    for name in names:
        (tmp_path / name).write_text(render_unit(name, Path(sys.prefix)))
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", *[str(tmp_path / n) for n in names]],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Unknown" not in r.stdout + r.stderr, r.stdout + r.stderr
    gate = (tmp_path / "vhd-gate.service").read_text()
    for needed in ("Type=notify", "WatchdogSec=", "Restart=always", "User=vhd-gate", "WorkingDirectory=",
                   "StateDirectory=", "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes",
                   "PrivateTmp=yes"):
        assert needed in gate


def test_declaration_writes_signed_qr(tmp_path, pg_url):
    home = tmp_path / "centre"
    assert provision(["--home", str(home), "authority", "init"]) == 0
    assert provision(["--home", str(home), "declaration", "add", "--name", "Nguyễn Thị Vân Anh",
                      "--citizen-id", "079203001234", "--birth-year", "1990", "--sex", "F",
                      "--phone", "0901234567", "--insurance", "DN4797900123456", "--on-behalf-of",
                      "Nguyễn Văn Hùng (cha)", "--db", pg_url, "--out", str(tmp_path / "qr")]) == 0
    assert provision(["--home", str(home), "declaration", "add", "--name", "X", "--citizen-id", "12",
                      "--birth-year", "1990", "--sex", "F", "--db", pg_url, "--out", str(tmp_path)]) == 1
    png = next((tmp_path / "qr").glob("*.png"))
    (code,) = make_decoder("zxing").decode(np.asarray(Image.open(png).convert("L")))
    trust = TrustStore.from_public_keys(Authority(home / "authority").trust()["public_keys"])
    tok = verify_token(code.text, trust, int(time.time()))
    assert tok.name == "Nguyễn Thị Vân Anh" and tok.declaration_id == png.stem
    store = open_store(pg_url)
    (row,) = store.query("SELECT * FROM declarations")
    assert row["citizen_id"] == "079203001234" and row["on_behalf_of"] == "Nguyễn Văn Hùng (cha)"
    assert row["insurance_no"] == "DN4797900123456" and row["birth_year"] == 1990


def test_trust_published_on_config_topic_reaches_gate(tmp_path, broker, pg_url):
    home = tmp_path / "centre"
    assert provision(["--home", str(home), "authority", "init"]) == 0
    migrate_database(pg_url)  # what `vhd-centre migrate` does at install
    store = open_store(pg_url)
    store.add_checkpoint("CP-1", "Cổng 1")
    store.add_device("gate-a", "CP-1")
    store.close()
    broker.add_gate("gate-a", "pw-a")
    assert provision(["--home", str(home), "authority", "publish", "--broker",
                      f"mqtt://127.0.0.1:{broker.local_port}", "--db", pg_url, "--password-file",
                      str(broker.files.bridge_password)]) == 0
    a = client(broker, "gate-a", "pw-a")
    a.subscribe([("vhd/v1/gates/gate-a/config", 1)])
    assert wait(lambda: a.result.get("messages"))
    data = json.loads(a.result["messages"][0][1])
    assert data["trust"] == Authority(home / "authority").trust()
    a.loop_stop()


DEBIAN_MOSQUITTO_CONF = """# Place your local configuration in /etc/mosquitto/conf.d/
pid_file {root}/run/mosquitto/mosquitto.pid
persistence true
persistence_location {root}/var/lib/mosquitto/
log_dest file {root}/var/log/mosquitto/mosquitto.log
include_dir {root}/etc/mosquitto/conf.d
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="mosquitto drops to its own user only when started as root")
def test_broker_config_installs_into_debians_mosquitto(tmp_path, careless_umask):
    """`broker-config --install` into a tree laid out as Debian's package leaves it, then that
    tree's mosquitto.conf run as the packaged service runs it: as root, dropping to `mosquitto`,
    which must be able to read the certificates and keep the plugin's state; a gate enrolled
    afterwards logs in at once."""
    import pwd
    import tempfile

    pwd.getpwnam("mosquitto")  # the Debian package's user (the test dependencies install it)
    root = Path(tempfile.mkdtemp(prefix="vhd-debian-"))
    root.chmod(0o755)  # like /: the dropped user must be able to walk to its files
    try:
        for d in ("etc/mosquitto/conf.d", "var/lib/mosquitto", "var/log/mosquitto", "run/mosquitto"):
            (root / d).mkdir(parents=True)
        for d in ("var/lib/mosquitto", "var/log/mosquitto", "run/mosquitto"):
            shutil.chown(root / d, "mosquitto", "mosquitto")
        (root / "etc/mosquitto/mosquitto.conf").write_text(DEBIAN_MOSQUITTO_CONF.format(root=root))
        real = Path("/etc/vhd-centre/broker")
        before = sorted(real.iterdir()) if real.exists() else None
        tls_port, local_port = free_port(), free_port()
        assert provision(["--home", "/etc/vhd-centre", "broker-config", "--hostname", "127.0.0.1", "--tls-port",
                          str(tls_port), "--local-port", str(local_port), "--install", "--root", str(root)]) == 0
        home = root / "etc" / "vhd-centre"  # the CA key and passwords in the tree, not in this machine's /etc
        assert (sorted(real.iterdir()) if real.exists() else None) == before
        assert (home / "broker").stat().st_mode & 0o777 == 0o700
        assert (home / "broker" / "ca.key").stat().st_mode & 0o077 == 0
        key = root / "etc/mosquitto/vhd/server.key"
        assert key.stat().st_mode & 0o777 == 0o640 and key.group() == "mosquitto"
        state = root / "var/lib/mosquitto/vhd-dynsec.json"
        assert state.owner() == "mosquitto" and state.stat().st_mode & 0o777 == 0o600
        # Debian's unit keeps 1024 open files: about 1015 gates, the rest refused. Its drop-in, read
        # with the packaged unit as systemd reads it, raises that; the gates' listener stops short.
        service_d = root / "etc/systemd/system/mosquitto.service.d"
        assert "LimitNOFILE=65536" in (service_d / "vhd.conf").read_text()
        verify = subprocess.run(["systemd-analyze", "verify", "mosquitto.service"], capture_output=True, text=True,
                                env={**os.environ, "SYSTEMD_UNIT_PATH": f"{service_d.parent}:/lib/systemd/system"})
        assert verify.returncode == 0 and "vhd.conf" not in verify.stderr, verify.stderr
        assert "max_connections 64000" in (root / "etc/mosquitto/conf.d/vhd.conf").read_text()
        proc = subprocess.Popen([find_mosquitto(), "-c", str(root / "etc/mosquitto/mosquitto.conf")],
                                stderr=subprocess.PIPE, text=True)
        try:
            # both listeners: the gates' TLS one and the local one the admin client uses
            assert wait(lambda: (_listening(tls_port) and _listening(local_port)) or proc.poll() is not None, 20)
            assert proc.poll() is None, (root / "var/log/mosquitto/mosquitto.log").read_text()[-2000:]

            class Installed:  # the client helper's view of this broker
                files = type("F", (), {"ca": home / "broker" / "ca.crt"})
            Installed.tls_port, Installed.local_port = tls_port, local_port
            with broker_admin(home / "broker", f"mqtt://127.0.0.1:{local_port}") as admin:
                admin.add_gate("gate-new", "pw-new")
            gate = client(Installed, "gate-new", "pw-new")
            assert not gate.result["connect"].is_failure  # no restart needed
            gate.disconnect()
            gate.loop_stop()
            assert wait(lambda: "gate-new" in state.read_text(), 5)  # the plugin kept it, as mosquitto
        finally:
            proc.terminate()
            proc.wait(10)
        # Installing again keeps the enrolled gates.
        assert provision(["--home", "/etc/vhd-centre", "broker-config", "--hostname", "127.0.0.1", "--install",
                          "--root", str(root)]) == 0
        assert "gate-new" in state.read_text()
        assert state.owner() == "mosquitto" and state.stat().st_mode & 0o777 == 0o600  # still the plugin's
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), 0.2).close()
        return True
    except OSError:
        return False


def test_a_revoked_gate_is_cut_off_at_once_and_its_events_refused(tmp_path, broker, pg_url):
    """A stolen Pi: `device revoke` ends its broker connection, it cannot log in again, what it
    sent is refused by the bridge, and the fleet shows it revoked."""
    home = tmp_path / "centre"
    shutil.copytree(broker.files.folder, home / "broker", ignore=shutil.ignore_patterns("data"))
    assert provision(["--home", str(home), "authority", "init"]) == 0
    assert provision(["--home", str(home), "checkpoint", "add", "CP-R", "--name", "Cổng R", "--db", pg_url,
                      "--out", str(tmp_path)]) == 0
    admin = ["--admin-broker", broker.admin_url]
    assert provision(["--home", str(home), "device", "enroll", "--checkpoint", "CP-R", "--broker",
                      f"mqtts://127.0.0.1:{broker.tls_port}", "--db", pg_url, "--device-id", "gate-r-01",
                      "--out", str(tmp_path / "b"), *admin]) == 0
    password = (tmp_path / "b" / "gate-r-01" / "mqtt-password").read_text().strip()
    gate = client(broker, "gate-r-01", password)
    assert not gate.result["connect"].is_failure
    gone = threading.Event()
    gate.on_disconnect = lambda *a: gone.set()
    assert provision(["--home", str(home), "device", "revoke", "gate-r-01", "--db", pg_url, *admin]) == 0
    assert gone.wait(10)  # the plugin ended its session: no waiting for its next login
    gate.loop_stop()
    again = client(broker, "gate-r-01", password)
    assert again.result["connect"].is_failure
    again.loop_stop()
    store = open_store(pg_url)
    try:
        assert "gate-r-01" not in store.devices()  # the bridges refuse its events (unknown_device)
        (row,) = [r for r in store.device_rows() if r["device_id"] == "gate-r-01"]
        assert row["revoked_at"] is not None and not row["online"]
    finally:
        store.close()
    assert provision(["--home", str(home), "device", "revoke", "gate-r-01", "--db", pg_url, *admin]) == 0
    assert provision(["--home", str(home), "device", "revoke", "gate-nobody", "--db", pg_url, *admin]) == 1


@pytest.fixture
def own_database():
    """A database of the test's own (a backup is of a whole database), dropped afterwards."""
    import psycopg

    from tests.services import database_url

    name = f"vhd_b_{os.urandom(4).hex()}"
    with psycopg.connect(database_url(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    base = database_url().split("?")[0]
    yield base.rsplit("/", 1)[0] + "/" + name, name
    with psycopg.connect(database_url(), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_a_centre_restored_from_its_backup_keeps_its_figures_keys_and_gates(tmp_path, broker, own_database,
                                                                           monkeypatch):
    """Backup, then the worst day: database emptied, keys and the broker's state gone. After the
    restore the figures, the issuer's keys and the site's key are the same and a gate enrolled
    before logs in with the password it has. The database's password is on no command line
    (pg_dump, pg_restore and `vhd-centre migrate` had the URL in their argv, which every user of
    the machine reads in /proc)."""
    import getpass
    from datetime import date

    import psycopg

    from centre.reports.figures import checkpoint_days
    from tests.services import database_url
    from tests.upgrade_fixtures import store_events

    url, name = own_database
    secret = "s3cr:t/pw"  # the test server trusts its loopback: any password is let in, none must show
    url = url.replace("postgresql://", f"postgresql://{getpass.getuser()}:s3cr%3At%2Fpw@", 1)
    root = tmp_path / "root"
    etc = root / "etc" / "vhd-centre"
    shutil.copytree(broker.files.folder, etc / "broker", ignore=shutil.ignore_patterns("data"))
    assert provision(["--home", str(etc), "authority", "init"]) == 0
    (etc / "django-secret").write_text("a-site-key-" + "x" * 40 + "\n")
    store_events(url, cwd=ROOT)
    children: list[tuple[list[str], dict | None]] = []
    run = subprocess.run

    def recorded(argv, *args, **kwargs):
        children.append(([str(a) for a in argv], kwargs.get("env")))
        return run(argv, *args, **kwargs)

    monkeypatch.setattr(subprocess, "run", recorded)
    assert provision(["--home", str(etc), "device", "enroll", "--checkpoint", "CP-U1", "--broker",
                      f"mqtts://127.0.0.1:{broker.tls_port}", "--db", url, "--device-id", "gate-b-01",
                      "--out", str(tmp_path / "b"), "--admin-broker", broker.admin_url]) == 0
    password = (tmp_path / "b" / "gate-b-01" / "mqtt-password").read_text().strip()
    state = root / "var" / "lib" / "mosquitto" / "vhd-dynsec.json"
    state.parent.mkdir(parents=True)
    shutil.copy(broker.files.dynsec, state)  # where Debian's broker keeps it

    def figures():
        store = open_store(url)
        try:
            return store.count_checkins(), [(r.day, r.check_ins, r.check_outs) for r in
                                            checkpoint_days(store, date(2026, 11, 10), date(2026, 11, 11))]
        finally:
            store.close()

    before, trust, site_key = figures(), Authority(etc / "authority").trust(), (etc / "django-secret").read_text()
    out = tmp_path / "backup"
    assert provision(["--home", "/etc/vhd-centre", "centre", "backup", "--out", str(out), "--db", url,
                      "--root", str(root)]) == 0
    assert out.stat().st_mode & 0o777 == 0o700
    assert all(p.stat().st_mode & 0o077 == 0 for p in out.iterdir())

    with psycopg.connect(database_url(), autocommit=True) as conn:  # the worst day
        conn.execute(f"DROP DATABASE {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    shutil.rmtree(etc)
    state.unlink()

    assert provision(["--home", "/etc/vhd-centre", "centre", "restore", str(out), "--db", url,
                      "--root", str(root)]) == 0
    assert figures() == before and before[0] == 10
    programs = [Path(argv[0]).name for argv, _ in children]
    assert {"pg_dump", "pg_restore"} <= set(programs) and any("centre.cli" in argv for argv, _ in children)
    assert not [argv for argv, _ in children if any("s3cr" in a for a in argv)]
    assert all(env["PGPASSWORD"] == secret for argv, env in children if Path(argv[0]).name.startswith("pg_"))
    assert Authority(etc / "authority").trust() == trust and (etc / "django-secret").read_text() == site_key
    assert etc.stat().st_mode & 0o777 == 0o700 and state.stat().st_mode & 0o777 == 0o600
    broker.stop()
    shutil.copy(state, broker.files.dynsec)  # the broker starts on the restored state
    broker.start()
    gate = client(broker, "gate-b-01", password)
    assert not gate.result["connect"].is_failure
    gate.disconnect()
    gate.loop_stop()


def test_a_declaration_deleted_at_the_centre_is_refused_at_its_gates(tmp_path, broker, pg_url, make_gate,
                                                                    frames_for, run_frames, authority):
    """A person deletes a declaration (a printout lost, a mistake): the database records it while
    its QR would be valid, the bridge publishes the list retained to every gate through the
    broker's own ACLs, and a gate refuses that QR, also after a restart with no broker. One
    deleted after its expiry is not listed (its QR is refused as expired anyway)."""
    from datetime import UTC, datetime, timedelta

    migrate_database(pg_url)
    store = open_store(pg_url)
    now = datetime.now(UTC)
    for decl, expires in (("VHD-2026-GONE", now + timedelta(days=14)), ("VHD-2026-KEPT", now + timedelta(days=14)),
                          ("VHD-2026-OLD", now - timedelta(days=1))):
        store.add_declaration({"declaration_id": decl, "full_name": "Người Dân", "birth_year": 1990, "sex": "F",
                               "expires_at": expires.isoformat()})
    assert store.execute("DELETE FROM declarations WHERE declaration_id IN ('VHD-2026-GONE', 'VHD-2026-OLD')") == 2
    assert store.deleted_declarations(now, 100) == ["VHD-2026-GONE"]
    assert store.deleted_declarations(now + timedelta(days=15), 100) == []  # its QR has expired by then
    broker.add_gate("gate-d", "pw-d")
    (tmp_path / "pw").write_text("pw-d\n")
    stop, thread = _bridge_on(broker, store)
    tokens = [authority.token(decl="VHD-2026-GONE"), authority.token(decl="VHD-2026-KEPT")]
    online = {"mqtt": {"url": f"mqtts://127.0.0.1:{broker.tls_port}", "ca_file": str(broker.files.ca),
                       "password_file": str(tmp_path / "pw")}, "gate": {"device_id": "gate-d"}}
    parts, clock = make_gate(frames_for(*tokens), sections=online)  # its uplink started, as the daemon's
    try:
        assert wait(lambda: parts.deleted.ids == {"VHD-2026-GONE"}, 20)
        assert [r.decision.reason for r in run_frames(parts, clock)] == ["deleted_declaration", None]
    finally:
        parts.close()
        stop.set()
        thread.join(10)
        store.close()
    # A gate cannot publish the list itself: only the bridges may
    gate = client(broker, "gate-d", "pw-d")
    gate.publish("vhd/v1/declarations/deleted", b'{"declaration_ids": []}', qos=1)
    assert wait(lambda: gate.result.get("puback")) and gate.result["puback"][0].value == 135
    gate.disconnect()
    gate.loop_stop()
    again, clock = make_gate(frames_for(tokens[0]))  # no broker: the list kept in its state directory
    try:
        assert [r.decision.reason for r in run_frames(again, clock)] == ["deleted_declaration"]
    finally:
        again.close()


def test_broker_config_run_again_gives_earlier_gates_and_bridges_this_releases_acls(tmp_path):
    """A broker set up by an earlier release: its plugin state holds the gates enrolled so far,
    without the ACLs for the deleted declarations' list. `broker-config` run again adds them (and
    only them), and the gate enrolled before receives what the bridge publishes."""
    from provisioning.mosquitto_auth import with_current_acls

    b = Broker(tmp_path / "broker").start()
    try:
        b.add_gate("gate-o", "pw-o")
    finally:
        b.stop()
    state_file = b.files.dynsec
    state = json.loads(state_file.read_text())
    for role in state["roles"]:  # as the earlier release made them
        role["acls"] = [a for a in role["acls"] if a["topic"] != "vhd/v1/declarations/deleted"]
    state_file.write_text(json.dumps(state))
    earlier = json.loads(state_file.read_text())
    again = Broker(tmp_path / "broker")  # broker-config run again in the same folder
    after = json.loads(state_file.read_text())
    assert after["clients"] == earlier["clients"] and os.stat(state_file).st_mode & 0o077 == 0
    added = {(r["rolename"], a["acltype"]) for r in after["roles"] for a in r["acls"]
             if a["topic"] == "vhd/v1/declarations/deleted"}
    assert added == {("vhd-bridge", "publishClientSend"), ("gate-gate-o", "subscribeLiteral"),
                     ("gate-gate-o", "publishClientReceive")}
    assert with_current_acls(after) == 0  # run once more: nothing more
    again.start()
    try:
        bridge = client(again, BRIDGE_USER, again.files.bridge_password.read_text().strip(), tls=False)
        bridge.publish("vhd/v1/declarations/deleted", b'{"declaration_ids": ["VHD-X"]}', qos=1, retain=True)
        assert wait(lambda: bridge.result.get("puback")) and not bridge.result["puback"][0].is_failure
        gate = client(again, "gate-o", "pw-o")
        gate.subscribe([("vhd/v1/declarations/deleted", 1)])
        assert wait(lambda: gate.result.get("messages"))
        for c in (bridge, gate):
            c.disconnect()
            c.loop_stop()
    finally:
        again.stop()
