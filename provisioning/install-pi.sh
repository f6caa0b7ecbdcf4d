#!/usr/bin/env bash
# Installs VHD Gate on a Raspberry Pi (Raspberry Pi OS Bookworm), from this checkout:
#   sudo bash /opt/vhd-gate/provisioning/install-pi.sh [BUNDLE.tar.gz]
# 1. the base packages, 2. a venv that sees Debian's picamera2/lgpio/spidev, 3. this project into
# it, 4. the packages and interfaces (I2C/SPI) that the gate's config needs, 5. with a bundle
# from `vhd-provision device enroll`: the gate's config, login and service.
# DRY_RUN=1 prints the commands instead of running them.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
bundle=${1:-}
venv=${VENV:-$src/.venv}

run() { if [ "${DRY_RUN:-}" = 1 ]; then echo "+ $*"; else "$@"; fi; }

if [ "${DRY_RUN:-}" != 1 ] && [ "$(id -u)" -ne 0 ]; then
  echo "install-pi: run as root (sudo)" >&2
  exit 1
fi
if [ -n "$bundle" ] && [ ! -e "$bundle" ]; then
  echo "install-pi: no bundle at $bundle" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
run apt-get update -qq
run apt-get install -y -qq python3-venv python3-pip git libzbar0 fonts-dejavu-core
# picamera2 and libcamera come only from apt: the venv must see the system's packages.
[ -x "$venv/bin/python" ] || run python3 -m venv --system-site-packages "$venv"
run "$venv/bin/pip" install --quiet -e "$src"

gate=${VHD_GATE:-$venv/bin/vhd-gate}
config=()
if [ -n "$bundle" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  if [ -d "$bundle" ]; then cp -r "$bundle"/. "$tmp"/; else tar -xzf "$bundle" -C "$tmp" --strip-components=1; fi
  config=(--config "$tmp/gate.toml")
fi
if [ "${DRY_RUN:-}" = 1 ] && [ ! -x "$gate" ]; then gate=vhd-gate; fi
read -r -a packages <<< "$("$gate" packages "${config[@]}")"
run apt-get install -y -qq "${packages[@]}"
for iface in $("$gate" packages --interfaces "${config[@]}"); do
  if command -v raspi-config >/dev/null 2>&1 || [ "${DRY_RUN:-}" = 1 ]; then
    run raspi-config nonint "do_$iface" 0
  else
    echo "install-pi: enable $iface yourself (raspi-config not found)" >&2
  fi
done
if [ -n "$bundle" ]; then
  run "$venv/bin/vhd-provision" device install "$bundle" --venv "$venv"
else
  echo "install-pi: software installed in $venv; next: $venv/bin/vhd-provision device install BUNDLE.tar.gz"
fi
