"""Commands that could destroy or surprise: each refuses clearly, in one line, and loses nothing."""

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from device.cli import main as gate
from mqtt_bridge.cli import main as bridge
from mqtt_bridge.locate import migrate_database
from mqtt_bridge.store import open_store
from protocol.event import Event, format_time, uuid7
from provisioning.cli import main as provision
from tests.chain import ROOT


def _one_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _checkins(db: str, days_ago: list[float]) -> None:
    migrate_database(db)  # what `vhd-centre migrate` does at install
    store = open_store(db)
    now = datetime.now(UTC)
    store.insert_checkins([Event(uuid7(i, bytes(10)), "gate-1", "CP-1", "in", "vhd", f"VHD-{i}", "An",
                                 format_time(now - timedelta(days=d)), i, "boot", True, "0.1")
                           for i, d in enumerate(days_ago, 1)])
    store.close()


def test_retention_refuses_a_tiny_window_and_dry_runs(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'c.db'}"
    _checkins(db, [1, 5, 30])

    def retention(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "centre.cli", "--db", db, "retention", *args], cwd=ROOT,
                              env={**os.environ, "VHD_CENTRE_HOME": str(tmp_path)}, capture_output=True,
                              text=True, timeout=120)

    r = retention("--days", "0")
    assert r.returncode == 1 and "--force" in _one_line(r.stderr)
    r = retention("--days", "3", "--force", "--dry-run")
    assert r.returncode == 0 and "would delete 2 check-in(s)" in r.stdout
    assert open_store(db).count_checkins() == 3  # a dry run deletes nothing
    r = retention()
    assert r.returncode == 0 and "deleted 1 check-in(s)" in r.stdout
    assert open_store(db).count_checkins() == 2
    assert bridge(["retention", "--db", db]) == 0  # the old name, one more release
    assert "moved to 'vhd-centre retention'" in capsys.readouterr().err


def test_checkpoint_add_never_blanks_an_existing_one(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'c.db'}"
    home = ["--home", str(tmp_path / "centre")]
    add = [*home, "checkpoint", "add", "CP-1", "--db", db, "--out", str(tmp_path / "posters")]
    assert provision([*add, "--name", "Cổng chính", "--address", "12 Lê Lợi", "--phone", "0283822"]) == 0
    assert provision([*add, "--name", "Cổng phụ"]) == 1
    assert "--update" in _one_line(capsys.readouterr().err)
    assert provision([*add, "--update", "--phone", "0909123456"]) == 0
    assert "updated" in capsys.readouterr().out
    (row,) = open_store(db).checkpoint_rows()
    assert (row["name"], row["address"], row["contact_phone"]) == ("Cổng chính", "12 Lê Lợi", "0909123456")
    typo = [a if a != "CP-1" else "CP-l" for a in add]
    assert provision([*typo, "--update", "--name", "Cổng chính mới"]) == 1  # it registered CP-l, poster and all
    assert "no checkpoint CP-l to update" in _one_line(capsys.readouterr().err)
    assert [r["checkpoint_id"] for r in open_store(db).checkpoint_rows()] == ["CP-1"]
    # a portal address Python cannot parse is named, not "Invalid IPv6 URL"
    assert provision([*add, "--update", "--name", "Cổng", "--portal-url", "https://[khaibao"]) == 1
    assert "portal address 'https://[khaibao'" in _one_line(capsys.readouterr().err)
    assert not (tmp_path / "posters" / "poster-CP-l.png").exists()


def test_declaration_errors_are_one_line_and_store_nothing(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'c.db'}"
    home = ["--home", str(tmp_path / "centre")]
    assert provision([*home, "authority", "init"]) == 0
    base = [*home, "declaration", "add", "--name", "Nguyễn Văn An", "--birth-year", "1990", "--sex", "M",
            "--db", db]
    capsys.readouterr()
    assert provision([*base, "--days", "0", "--out", str(tmp_path / "qr")]) == 1
    assert "--days" in _one_line(capsys.readouterr().err)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    assert provision([*base, "--out", str(blocker)]) == 1  # the QR cannot be written there
    _one_line(capsys.readouterr().err)
    for relation in ("x" * 41, "mẹ ☺", "con <b>"):  # stored as given; the portal's rule now
        assert provision([*base, "--on-behalf-of", relation, "--out", str(tmp_path / "qr")]) == 1
        assert "--on-behalf-of: who they are to the declarer" in _one_line(capsys.readouterr().err)
    assert open_store(db).query("SELECT count(*) AS n FROM declarations")[0]["n"] == 0
    assert provision([*base, "--on-behalf-of", "  con\n  trai ", "--out", str(tmp_path / "qr")]) == 0  # one line
    assert open_store(db).query("SELECT on_behalf_of FROM declarations")[0]["on_behalf_of"] == "con trai"


def test_a_damaged_authority_is_named_in_one_line(tmp_path, capsys):
    """trust.json nested deeper than Python recurses was a RecursionError traceback."""
    db = f"sqlite:///{tmp_path / 'c.db'}"
    home = ["--home", str(tmp_path / "centre")]
    assert provision([*home, "authority", "init"]) == 0
    trust = tmp_path / "centre" / "authority" / "trust.json"
    for text, says in (("{", "is damaged"), ("[" * 100_000 + "]" * 100_000, "nested too deeply")):
        trust.write_text(text)
        capsys.readouterr()
        assert provision([*home, "declaration", "add", "--name", "Nguyễn Văn An", "--birth-year", "1990",
                          "--sex", "M", "--db", db, "--out", str(tmp_path / "qr")]) == 1
        err = _one_line(capsys.readouterr().err)
        assert f"{trust} is damaged" in err and says in err, err


def test_a_gate_is_enrolled_only_with_a_broker_address_it_can_use(tmp_path, capsys):
    """The gate's broker address went into its bundle unchecked: 'ftp://…', a port of 99999 or a
    login in the address was found only by the gate at the door, after its broker login and its
    row were made. Each is told in one line before anything is made (the admin broker given here
    is not even up)."""
    home, db, out = ["--home", str(tmp_path / "home")], f"sqlite:///{tmp_path / 'c.db'}", tmp_path / "bundles"
    migrate_database(db)
    assert provision([*home, "authority", "init"]) == 0
    assert provision([*home, "broker-config", "--hostname", "broker.example"]) == 0
    assert provision([*home, "checkpoint", "add", "CP-1", "--name", "Chợ Bến Thành", "--db", db,
                      "--out", str(tmp_path / "posters")]) == 0
    capsys.readouterr()
    for url, says in (("ftp://broker.example", "must start with mqtt:// or mqtts://"),
                      ("mqtts://broker.example:99999", "bad port"), ("mqtts://broker.example:0", "bad port"),
                      ("mqtts://", "no host"), ("mqtts://gate:secret@broker.example:8883", "address only")):
        assert provision([*home, "device", "enroll", "--checkpoint", "CP-1", "--broker", url, "--db", db,
                          "--out", str(out), "--admin-broker", "mqtt://127.0.0.1:1"]) == 1
        err = _one_line(capsys.readouterr().err)
        assert err.startswith("vhd-provision: --broker: ") and says in err and "secret" not in err, err
    assert not out.exists() and not open_store(db).devices()


def test_createuser_without_a_terminal_says_so(tmp_path):
    env = {**os.environ, "VHD_CENTRE_HOME": str(tmp_path)}
    db = ["--db", f"sqlite:///{tmp_path / 'c.db'}"]
    assert subprocess.run([sys.executable, "-m", "centre.cli", *db, "migrate"], cwd=ROOT, capture_output=True,
                          timeout=120, env=env).returncode == 0
    r = subprocess.run([sys.executable, "-m", "centre.cli", *db, "createuser",
                        "ytequan1", "--role", "district_admin"], cwd=ROOT, stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 1
    assert "--password-file" in _one_line(r.stderr)


def test_a_sqlite_database_is_private_whoever_makes_it(tmp_path, careless_umask):
    """Django's SQLite made the site's database with the umask's mode (0644 under the usual 022):
    every name, citizen id, phone and password hash readable by any user of the machine, and its
    journal with it. Made by the site, put back by a restore or found wider, it is 0600; a path
    that is no file in a folder that exists is told in one line."""
    env = {**os.environ, "VHD_CENTRE_HOME": str(tmp_path / "etc")}
    db = tmp_path / "one-site.sqlite3"

    def centre(url: str, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "centre.cli", "--db", url, *args], cwd=ROOT, text=True,
                              capture_output=True, timeout=120, env=env, stdin=subprocess.DEVNULL)

    assert centre(f"sqlite:///{db}", "migrate").returncode == 0  # the subprocess has umask 000 too
    assert db.stat().st_mode & 0o777 == 0o600
    db.chmod(0o644)  # as an older release left it
    assert centre(f"sqlite:///{db}", "report", "--from", "2021-09-01", "--to", "2021-09-02").returncode == 0
    assert db.stat().st_mode & 0o777 == 0o600

    root = ["--root", str(tmp_path / "root")]  # this machine's broker state stays out of it
    assert provision(["centre", "backup", "--db", f"sqlite:///{db}", *root, "--out", str(tmp_path / "backup")]) == 0
    moved = tmp_path / "new-server" / "one-site.sqlite3"
    assert provision(["centre", "restore", str(tmp_path / "backup"), "--db", f"sqlite:///{moved}", *root]) == 0
    assert moved.stat().st_mode & 0o777 == 0o600 and moved.stat().st_size == db.stat().st_size

    for where in (tmp_path, tmp_path / "no-such-folder" / "c.db"):
        r = centre(f"sqlite:///{where}", "migrate")
        assert r.returncode == 1 and _one_line(r.stderr) == (
            f"vhd-centre: cannot make a database at {where}: give a file in a folder that exists")
    assert tmp_path.stat().st_mode & 0o777 != 0o600  # a folder given as the database is left as it was


def test_a_number_or_port_in_another_script_is_told_in_one_line(tmp_path):
    """"²" and "٣" are digits to str.isdigit: a setting or a port written with them is refused in
    one line, as any word is, never an int() traceback from the settings or gunicorn's bind."""
    env = {**os.environ, "VHD_CENTRE_HOME": str(tmp_path)}
    db = ["--db", f"sqlite:///{tmp_path / 'c.db'}"]

    def centre(*args: str, **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "centre.cli", *db, *args], cwd=ROOT, capture_output=True,
                              text=True, timeout=60, env={**env, **extra}, stdin=subprocess.DEVNULL)

    assert centre("migrate").returncode == 0
    for value in ("²", "٣", "abc"):
        r = centre("migrate", VHD_CENTRE_LOGIN_MAX_PER_ADDRESS=value)
        assert r.returncode == 1 and _one_line(r.stderr) == (
            f"vhd-centre: VHD_CENTRE_LOGIN_MAX_PER_ADDRESS must be a whole number, not {value!r}")
    for listen in ("127.0.0.1:²", "127.0.0.1:99999", "127.0.0.1:0"):
        r = centre("serve", "--listen", listen)
        assert r.returncode == 1 and "--listen takes HOST:PORT" in _one_line(r.stderr), listen


@pytest.mark.parametrize("main, argv, says", [
    # 17, not the 100000 that took all the memory: were the range ever lost, this test must not take it too
    (gate, ["screens", "--out", "{tmp}", "--scale", "17"], "--scale: 17 is outside 1..16"),
    (gate, ["run", "--config", "{tmp}/gate.toml", "--drain-seconds", "nan"], "--drain-seconds: nan is outside"),
    (bridge, ["retention", "--db-file", "{tmp}/c.db", "--declaration-days", "-100000"],
     "--declaration-days: -100000 is outside 0..3650"),
    (bridge, ["retention", "--db-file", "{tmp}/c.db", "--days", "99999999"], "--days: 99999999 is outside"),
    (bridge, ["trace", "079203001234", "--db-file", "{tmp}/c.db", "--from", "2021-09-10", "--max-stay-hours", "-1"],
     "--max-stay-hours"),
    (bridge, ["events", "--db-file", "{tmp}/c.db", "--limit", "many"], "--limit: 'many' is not a whole number"),
    (provision, ["--home", "{tmp}", "broker-config", "--hostname", "b.example", "--tls-port", "70000"],
     "--tls-port: 70000 is outside"),
])
def test_a_number_out_of_its_range_is_refused_before_anything_runs(main, argv, says, tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main([a.replace("{tmp}", str(tmp_path)) for a in argv])
    assert stop.value.code == 2 and says in capsys.readouterr().err


def test_the_centres_commands_refuse_what_would_delete_too_much_or_never_end(tmp_path):
    env = {**os.environ, "VHD_CENTRE_HOME": str(tmp_path)}
    db = ["--db", f"sqlite:///{tmp_path / 'c.db'}"]

    def centre(*args: str) -> str:
        r = subprocess.run([sys.executable, "-m", "centre.cli", *db, *args], cwd=ROOT, capture_output=True,
                           text=True, timeout=60, env=env, stdin=subprocess.DEVNULL)
        assert r.returncode in (1, 2) and "Traceback" not in r.stderr, r.stderr
        return r.stderr

    assert subprocess.run([sys.executable, "-m", "centre.cli", *db, "migrate"], cwd=ROOT, env=env,
                          capture_output=True, timeout=120).returncode == 0
    # every declaration still valid for 100000 days would have gone; a date past 9999 was a traceback
    assert "--declaration-days: -100000 is outside 0..3650" in _one_line(
        centre("retention", "--declaration-days", "-100000"))
    assert "--days: 99999999 is outside" in _one_line(centre("retention", "--days", "99999999", "--dry-run"))
    trace = ["trace", "079203001234", "--reason", "Ca F0 số 12", "--by", "ytequan1"]
    assert "a trace covers at most 366 days" in _one_line(centre(*trace, "--from", "2000-01-01", "--to", "2099-12-31"))
    far = _one_line(centre(*trace, "--from", "0001-01-01", "--to", "9999-12-31"))
    assert "is outside 2000-01-01..2099-12-31" in far
    assert "--to is before --from" in _one_line(centre(*trace, "--from", "2021-09-15", "--to", "2021-09-01"))
    for person in (" ", "9" * 65):  # traced nobody, and was audited as a trace of nobody
        assert "the person is a declaration id or a citizen id" in _one_line(
            centre("trace", person, "--reason", "Ca F0 số 12", "--by", "ytequan1", "--from", "2021-09-15"))
    assert "--max-stay-hours: nan is outside" in _one_line(centre(*trace, "--from", "2021-09-15", "--max-stay-hours",
                                                                   "nan"))
    assert "--workers: 0 is outside 1..64" in centre("serve", "--workers", "0")
    for metrics in ("127.0.0.1:99999", "nonsense", ":9108"):  # 99999 was an OverflowError from bind
        r = subprocess.run([sys.executable, "-m", "mqtt_bridge.cli", "run", "--broker", "mqtt://127.0.0.1:1",
                            *db, "--metrics", metrics], cwd=ROOT, capture_output=True, text=True, timeout=60,
                           env=env, stdin=subprocess.DEVNULL)
        assert r.returncode == 1 and "--metrics takes HOST:PORT, e.g. 127.0.0.1:9108" in _one_line(r.stderr), r.stderr


def test_check_config_warns_when_no_key_is_trusted(tmp_path, capsys):
    cfg = tmp_path / "gate.toml"
    cfg.write_text('[gate]\ndevice_id = "gate-1"\ncheckpoint_id = "CP-1"\n')
    assert gate(["check-config", str(cfg)]) == 0
    assert "public_keys is empty" in _one_line(capsys.readouterr().err)


def test_decode_without_keys_says_it_cannot_check_signatures(tmp_path, capsys, authority):
    from sim.frames import Shot, compose, render_qr, save_frame

    save_frame(compose(render_qr(authority.live_token()), Shot(size=260), seed=1), tmp_path / "qr.png")
    assert gate(["decode", str(tmp_path / "qr.png")]) == 0
    out, err = capsys.readouterr()
    assert "no trust keys" in _one_line(err)
    assert '"reason": "no_trust_keys"' in out
    assert gate(["decode", str(tmp_path / "qr.png"), "--public-key", authority.public]) == 0
    assert '"accepted": true' in capsys.readouterr().out
    assert gate(["decode", str(tmp_path / "qr.png"), "--public-key", "not-a-key"]) == 2


def test_pi_install_script_installs_what_the_config_needs(tmp_path):
    """The on-Pi installer (dry run): base packages, the venv, the project, then per the bundle's
    config an SPI panel's spidev and the lgpio backend (the one gpiozero drives a Pi 5 with),
    SPI switched on, and the bundle installed with commands that exist in the Pi's venv."""
    bundle = tmp_path / "gate-cp-1-ab12"
    bundle.mkdir()
    (bundle / "gate.toml").write_text('[gate]\ndevice_id = "gate-cp-1-ab12"\ncheckpoint_id = "CP-1"\n'
                                      '[display]\ndriver = "sh1106"\ninterface = "spi"\n')
    (bundle / "mqtt-password").write_text("x\n")
    env = {"DRY_RUN": "1", "VHD_GATE": str(ROOT / ".venv" / "bin" / "vhd-gate"),
           "VENV": "/opt/vhd-gate/.venv", "PATH": "/usr/bin:/bin"}
    r = subprocess.run(["bash", str(ROOT / "provisioning" / "install-pi.sh"), str(bundle)], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "+ /usr/bin/python3 -m venv --system-site-packages /opt/vhd-gate/.venv" in lines
    installs = [i for i, x in enumerate(lines) if x.startswith("+ apt-get install")]
    pip = [i for i, x in enumerate(lines) if "/bin/pip install" in x]
    # Debian's numpy and picamera2 are in place before pip runs, and pip takes only the lock file
    assert installs[0] < pip[0] and {"python3-picamera2", "python3-numpy"} <= set(lines[installs[0]].split())
    assert "--require-hashes -r" in lines[pip[0]] and lines[pip[0]].endswith("requirements-pi.txt")
    apt = lines[installs[-1]].split()
    assert {"python3-lgpio", "python3-spidev"} <= set(apt)
    assert "+ raspi-config nonint do_spi 0" in lines
    assert lines[-1] == f"+ /opt/vhd-gate/.venv/bin/vhd-provision device install {bundle} --venv /opt/vhd-gate/.venv"


def test_pi_install_script_dry_run_on_a_fresh_pi_says_what_it_would_ask(tmp_path):
    """No venv yet: the dry run shows the commands, and neither fails nor pretends."""
    env = {"DRY_RUN": "1", "VENV": str(tmp_path / "venv"), "PATH": "/usr/bin:/bin"}
    r = subprocess.run(["bash", str(ROOT / "provisioning" / "install-pi.sh")], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "command not found" not in r.stderr + r.stdout
    assert f"+ apt-get install -y -qq $({tmp_path}/venv/bin/vhd-gate packages )" in r.stdout.splitlines()
    assert "install-pi.sh BUNDLE.tar.gz" in r.stdout.splitlines()[-1]


def test_portal_demo_serves_people_and_units_with_sms_on_the_console(tmp_path):
    """`make portal` (vhd-centre demo): the portal on localhost, a demo checkpoint, the SMS code
    printed where the new user is looking."""
    import re
    import time
    import urllib.parse
    import urllib.request
    from http.cookiejar import CookieJar

    from provisioning.mosquitto import free_port
    from tests.services import StderrReader

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "centre.cli", "demo", "--listen", f"127.0.0.1:{port}",
                             "--out", str(tmp_path / "portal"), "--workers", "1"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = StderrReader(proc, stream=proc.stdout)
    try:
        assert any("Ctrl-C stops it" in line for line in out.follow(60))
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(base + "/c/CP-DEMO/") as r:
                    assert "Trường THCS Nguyễn Du" in r.read().decode()
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

        def post(path, data):
            page = opener.open(base + path).read().decode()
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
            req = urllib.request.Request(base + path, headers={"Referer": base + path},
                                         data=urllib.parse.urlencode({**data, "csrfmiddlewaretoken": token}).encode())
            with opener.open(req) as r:
                return r.url

        assert "/khai-bao/xac-nhan/" in post("/khai-bao/dang-nhap/", {"phone": "0912345678"})
        code = next(re.search(r"mã xác nhận (\d{6})", line).group(1) for line in out.follow(20)
                    if "SMS to 0912345678" in line)
        assert post("/khai-bao/xac-nhan/", {"code": code}).endswith("/khai-bao/cua-toi/")
    finally:
        proc.terminate()
        proc.wait(20)


def test_a_mistyped_database_path_is_said_and_creates_nothing(tmp_path):
    """Read commands given a wrong SQLite path or --db-file say so in one line, exit 1, and leave
    no folder or empty database behind."""
    wrong = tmp_path / "typo" / "centre.sqlite3"
    commands = [
        [sys.executable, "-m", "mqtt_bridge.cli", "events", "--db", f"sqlite:///{wrong}"],
        [sys.executable, "-m", "mqtt_bridge.cli", "devices", "--db", f"sqlite:///{wrong}"],
        [sys.executable, "-m", "centre.cli", "--db", f"sqlite:///{wrong}", "report"],
        [sys.executable, "-m", "centre.cli", "--db", f"sqlite:///{wrong}", "createuser", "a", "--role", "tracer",
         "--password-file", "/dev/null"],
    ]
    for argv in commands:
        r = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert r.returncode == 1 and f"no database at {wrong}" in r.stderr, (argv, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "typo").exists()
    r = subprocess.run([sys.executable, "-m", "mqtt_bridge.cli", "events", "--db-file", str(tmp_path / "nope")],
                       cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and f"cannot read --db-file {tmp_path / 'nope'}: No such file" in r.stderr
    # A URL that cannot be read is said to be the database URL's fault, never printed (its password)
    for url, says in (("postgresql://u:s3cret@[::1/x", "Invalid IPv6 URL"),
                      ("postgresql://u:s3cret@h:99999/x", "Port out of range")):
        for argv in ([sys.executable, "-m", "mqtt_bridge.cli", "devices", "--db", url],
                     [sys.executable, "-m", "centre.cli", "--db", url, "migrate"]):
            r = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
            assert r.returncode == 1 and f"the database URL cannot be read: {says}" in _one_line(r.stderr), r.stderr
            assert "s3cret" not in r.stderr


def test_a_portal_address_that_is_not_one_stops_the_site_by_name(tmp_path):
    """The portal's address names the site's host and goes in every poster's QR: one that is not
    an address stops the site at once, by name (it was "Invalid IPv6 URL", or posters without it)."""
    for portal in ("https://[khaibao", "khaibao.example", "https://khaibao.example:70000"):
        r = subprocess.run([sys.executable, "-m", "centre.cli", "--db", f"sqlite:///{tmp_path / 'p.db'}", "migrate"],
                           cwd=ROOT, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
                           env={**os.environ, "VHD_PORTAL_URL": portal, "VHD_CENTRE_HOME": str(tmp_path / "home")})
        assert r.returncode == 1 and f"the portal's address {portal!r}" in _one_line(r.stderr), r.stderr


def test_portal_demo_on_a_busy_port_says_so_before_its_banner(tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = subprocess.run([sys.executable, "-m", "centre.cli", "demo", "--listen", f"127.0.0.1:{port}",
                            "--out", str(tmp_path / "portal")], cwd=ROOT, capture_output=True, text=True,
                           timeout=120, stdin=subprocess.DEVNULL)
    assert r.returncode == 1 and "Address already in use" in r.stderr and "PORT=" in r.stderr
    assert "portal demo on" not in r.stdout


def test_a_checkpoint_id_is_checked_wherever_it_enters(tmp_path, capsys):
    """An id with a slash once stored a row, failed on its poster and broke every page listing
    checkpoints: now each entry point refuses it before anything is stored."""

    from mqtt_bridge.store import StoreError
    from protocol.checkpoint import valid_checkpoint_id

    db = f"sqlite:///{tmp_path / 'c.sqlite3'}"
    for bad in ("CP-Q9/0001", "CP Q9", "_CP", "Đ-01", "CP\n01", "x" * 65):
        assert not valid_checkpoint_id(bad)
        assert provision(["checkpoint", "add", bad, "--name", "Chợ", "--db", db, "--out", str(tmp_path)]) == 1
        assert "checkpoint id" in _one_line(capsys.readouterr().err)
    assert not (tmp_path / "c.sqlite3").exists() and not list(tmp_path.glob("poster-*"))
    migrate_database(db)  # what `vhd-centre migrate` does at install
    store = open_store(db)
    with pytest.raises(StoreError, match="checkpoint id"):
        store.add_checkpoint("CP-Q9/0001", "Chợ")
    # its name, address, phone and unit: one line each, or the gate's config and poster break
    for option, bad in (("--name", "Chợ\n[trust]"), ("--address", "Số 1\r"), ("--unit", "Chợ\u202eA"),
                        ("--phone", "090\x00"), ("--name", "x" * 201)):
        assert provision(["checkpoint", "add", "CP-Q9", "--name", "Chợ", option, bad, "--db", db,
                          "--out", str(tmp_path)]) == 1
        assert f"checkpoint {option[2:].replace('phone', 'contact_phone')}: one line" in _one_line(
            capsys.readouterr().err)
        with pytest.raises(StoreError, match="one line"):
            store.add_checkpoint("CP-Q9", **{"name": "Chợ", option[2:].replace("phone", "contact_phone"): bad})
    assert not list(tmp_path.glob("poster-*")) and not store.checkpoint_rows()
    store.close()
    assert provision(["checkpoint", "add", "CP-Q9.0001", "--name", "Chợ", "--db", db, "--out", str(tmp_path)]) == 0


def test_createuser_speaks_one_language_and_models_need_no_new_migration(tmp_path):
    env = {**os.environ, "VHD_CENTRE_HOME": str(tmp_path), "DJANGO_SETTINGS_MODULE": "centre.settings",
           "VHD_CENTRE_DB": f"sqlite:///{tmp_path / 'c.db'}"}
    r = subprocess.run([sys.executable, "-m", "django", "makemigrations", "--check", "--dry-run"], cwd=ROOT,
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    db = ["--db", env["VHD_CENTRE_DB"]]
    assert subprocess.run([sys.executable, "-m", "centre.cli", *db, "migrate"], cwd=ROOT, env=env,
                          capture_output=True, timeout=120).returncode == 0
    r = subprocess.run([sys.executable, "-m", "centre.cli", *db, "createuser", "ytequan1", "--role", "tracer",
                        "--password-file", "/dev/stdin"], input="123\n", cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=120)
    line = _one_line(r.stderr)
    assert r.returncode == 1 and "password refused: This password is too short" in line, line
    assert not any(ch in line for ch in "ảấầẩẫậăắằẳẵặđẹẻẽếềểễệỉịọỏốồổỗộơớờởỡợụủứừửữựỳỵỷỹ"), line
    for name in ("y te quan 1", "x" * 151, ""):  # saved before, and on PostgreSQL a long one failed at the insert
        r = subprocess.run([sys.executable, "-m", "centre.cli", *db, "createuser", name, "--role", "tracer",
                            "--password-file", "/dev/stdin"], input="mot-mat-khau-dai-2021\n", cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 1 and f"user name {name!r} refused" in _one_line(r.stderr), r.stderr


def test_a_file_the_system_refuses_is_named_with_what_to_do():
    from common.errors import describe

    assert describe(PermissionError(13, "Permission denied", "/etc/vhd-centre/database-url")) == (
        "/etc/vhd-centre/database-url: permission denied (run it with sudo, or as the service's own user)")
    assert describe(FileNotFoundError(2, "No such file or directory", "x.toml")) == "x.toml: No such file or directory"


def test_a_password_or_url_file_that_is_a_device_or_huge_is_refused_in_one_line(tmp_path):
    """`--password-file /dev/zero` read until memory ran out; a file past 4 KiB, or not text, is now
    named and refused at once, wherever a password, a token or the database URL is read. A pipe
    (`/dev/stdin`) still gives its password."""
    from device.config import MqttSection
    from device.uplink import read_password
    from drivers.mqtt import MqttError

    db = f"sqlite:///{tmp_path / 'c.db'}"
    migrate_database(db)
    for argv in ([sys.executable, "-m", "centre.cli", "--db", db, "createuser", "an", "--role", "tracer",
                  "--password-file", "/dev/zero"],
                 [sys.executable, "-m", "mqtt_bridge.cli", "devices", "--db-file", "/dev/zero"]):
        r = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert r.returncode == 1 and "/dev/zero holds more than 4096 bytes" in _one_line(r.stderr), r.stderr
    (tmp_path / "binary").write_bytes(b"\xff\xfe\x00pw")
    with pytest.raises(MqttError, match="is not UTF-8 text"):
        read_password(MqttSection(password_file=str(tmp_path / "binary")))
    r = subprocess.run([sys.executable, "-m", "centre.cli", "--db", db, "createuser", "an", "--role", "tracer",
                        "--password-file", "/dev/stdin"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                       input="mot-mat-khau-rat-dai-2021\n")
    assert r.returncode == 0, r.stderr


def test_a_report_or_trace_of_a_day_python_cannot_step_past_is_refused_in_one_line(tmp_path):
    """`vhd-centre trace X --from 9999-12-31` overflowed a day past the period (0001-01-01 a stay
    before it): a traceback. Days are taken from 2000 to 2099, named otherwise."""
    db = f"sqlite:///{tmp_path / 'c.db'}"
    migrate_database(db)
    for command in (["trace", "VHD-1", "--reason", "Ca F0 số 12", "--by", "quan1"], ["report"]):
        for far in ("9999-12-31", "0001-01-01"):
            r = subprocess.run([sys.executable, "-m", "centre.cli", "--db", db, *command, "--from", far],
                               cwd=ROOT, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
            assert r.returncode == 1 and f"date '{far}' is outside 2000-01-01..2099-12-31" in _one_line(r.stderr)
