#!/usr/bin/env bash
# Installs VHD Gate on a Raspberry Pi (Raspberry Pi OS Bookworm), from this checkout:
#   sudo bash /opt/vhd-gate/provisioning/install-pi.sh [BUNDLE.tar.gz]
# 1. the Debian packages first: the base ones and the gate's Python stack from apt (picamera2,
#    lgpio, numpy), so that pip finds Debian's numpy in place and never brings another one;
# 2. a venv that sees those packages, with exactly what requirements-pi.txt pins (hashes checked);
# 3. the packages and interfaces (I2C/SPI) that the gate's config needs;
# 4. with a bundle from `vhd-provision device enroll`: the gate's config, login and service.
# DRY_RUN=1 prints the commands instead of running them. ROOT=DIR installs the bundle into a
# staging tree (no users, no systemd), as `vhd-provision device install --root` does.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
bundle=${1:-}
venv=${VENV:-$src/.venv}
python=${PYTHON:-/usr/bin/python3}
dry=${DRY_RUN:-}

run() { if [ "$dry" = 1 ]; then echo "+ $*"; else "$@"; fi; }
fail() { echo "install-pi: $*" >&2; exit 1; }

if [ "$dry" != 1 ] && [ "$(id -u)" -ne 0 ]; then
  fail "run as root (sudo)"
fi
if [ -n "$bundle" ] && [ ! -e "$bundle" ]; then
  fail "no bundle at $bundle"
fi

export DEBIAN_FRONTEND=noninteractive
run apt-get update -qq
base=(python3-venv python3-pip git libzbar0 fonts-dejavu-core python3-numpy)
# From the Raspberry Pi archive (present on Raspberry Pi OS; not in plain Debian 12).
for pkg in python3-picamera2 python3-lgpio; do
  if [ "$dry" = 1 ] || apt-cache show "$pkg" >/dev/null 2>&1; then
    base+=("$pkg")
  else
    echo "install-pi: $pkg is not in this machine's apt sources (not Raspberry Pi OS?): skipped" >&2
  fi
done
run apt-get install -y -qq "${base[@]}"
# picamera2 and libcamera come only from apt: the venv sees the system's packages.
[ -x "$venv/bin/python" ] || run "$python" -m venv --system-site-packages "$venv"
run "$venv/bin/pip" install --quiet --require-hashes -r "$src/requirements-pi.txt"
run "$venv/bin/pip" install --quiet --no-deps --no-build-isolation -e "$src"
if [ "$dry" != 1 ]; then
  where=$("$venv/bin/python" -c 'import numpy; print(numpy.__version__, numpy.__file__)')
  echo "install-pi: numpy in the venv: $where"
fi

gate=${VHD_GATE:-$venv/bin/vhd-gate}
config=()
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -n "$bundle" ]; then
  if [ -d "$bundle" ]; then cp -r "$bundle"/. "$tmp"/; else tar -xzf "$bundle" -C "$tmp" --strip-components=1; fi
  config=(--config "$tmp/gate.toml")
fi
if [ -x "$gate" ]; then
  read -r -a packages <<< "$("$gate" packages "${config[@]}")"
  read -r -a ifaces <<< "$("$gate" packages --interfaces "${config[@]}")"
elif [ "$dry" = 1 ]; then
  # Nothing is installed in a dry run: say what would be asked, not a guess at its answer.
  echo "+ apt-get install -y -qq \$($gate packages ${config[*]})"
  echo "+ raspi-config nonint do_<interface> 0   # for each of: $gate packages --interfaces ${config[*]}"
  packages=() ifaces=()
else
  fail "$gate is missing after the install above: see pip's messages"
fi
if [ ${#packages[@]} -gt 0 ]; then
  run apt-get install -y -qq "${packages[@]}"
fi
for iface in "${ifaces[@]}"; do
  if command -v raspi-config >/dev/null 2>&1 || [ "$dry" = 1 ]; then
    run raspi-config nonint "do_$iface" 0
  else
    echo "install-pi: enable $iface yourself (raspi-config not found)" >&2
  fi
done
root_args=()
[ -n "${ROOT:-}" ] && root_args=(--root "$ROOT")
if [ -n "$bundle" ]; then
  run "$venv/bin/vhd-provision" device install "$bundle" --venv "$venv" "${root_args[@]}"
else
  echo "install-pi: software installed in $venv; next, with the gate's bundle from the centre:"
  echo "  sudo bash $src/provisioning/install-pi.sh BUNDLE.tar.gz"
fi
