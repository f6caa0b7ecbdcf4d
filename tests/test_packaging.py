"""What a non-editable install gets: every file the packages need besides their Python code
(templates, the service worker, styles, translations, the gate's default config)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile

from tests.chain import ROOT

PACKAGES = ("centre", "device", "protocol", "drivers", "common", "mqtt_bridge", "provisioning", "sim")


def test_the_wheel_holds_every_file_the_packages_ship(tmp_path):
    """Built from a copy of the tracked files only (no build folder or egg-info left by an
    earlier build, which would hide a file setup.py forgets)."""
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    source = tmp_path / "src"
    for name in tracked.splitlines():
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                        "--wheel-dir", str(tmp_path / "dist"), str(source)], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("vhd_gate-*.whl")
    inside = set(zipfile.ZipFile(wheel).namelist())
    # the shell scripts in provisioning/ are run from the repository (make, install-pi.sh), not installed
    data = [f for f in tracked.splitlines() if f.split("/")[0] in PACKAGES and not f.endswith((".py", ".sh"))]
    assert any(f.endswith("sw.js") for f in data) and any(f.endswith(".mo") for f in data)  # the list is real
    assert [f for f in data if f not in inside] == []
