#!/usr/bin/env bash
# Installs the Debian packages VHD Gate needs when they are missing. Safe to run again; does
# nothing when all are there. `system-deps.sh demo`: what the demo needs (zbar, DejaVu fonts,
# mosquitto, venv); `system-deps.sh test` (default): also PostgreSQL, systemd-analyze, Chromium, npm.
set -euo pipefail
mode=${1:-test}

need=()
have_lib() { ldconfig -p 2>/dev/null | grep -q "$1" || ls /usr/lib/*/"$1"* >/dev/null 2>&1; }

have_lib libzbar.so.0 || need+=(libzbar0)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need+=(python3-venv)
if [ "$mode" = test ]; then
  # the server's own binaries too: the replica test starts a primary and a streaming replica of its own
  { command -v pg_ctlcluster && ls /usr/lib/postgresql/*/bin/initdb; } >/dev/null 2>&1 || need+=(postgresql)
  command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)  # the tests verify the unit files
  # The dashboard is tested in headless Chromium driven through chromedriver.
  { [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; } || need+=(chromium chromium-driver)
  # axe-core, the accessibility checker the browser tests inject, comes from npm (tests/axe).
  command -v npm >/dev/null 2>&1 || need+=(npm)
fi

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "system-deps: installing ${need[*]}"
if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "system-deps: need root to install: ${need[*]} (apt-get install ${need[*]})" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
# Debian's maintainer scripts would start services; the tests start their own.
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
