#!/usr/bin/env bash
# Writes the lock files from setup.py under constraints.in, with every file's hash:
#   pi.txt      the gate on a Raspberry Pi (and `vhd-provision device install` anywhere)
#   centre.txt  the centre's server: bridge and web site
#   test.txt    everything, for `make test`, the demo and the benchmarks
# Usage: bash requirements/compile.sh [UV]   (run by `make lock`)
set -euo pipefail
uv=${1:-uv}
cd "$(dirname "$0")/.."
compile() {
  local out=$1; shift
  "$uv" pip compile setup.py "$@" -c requirements/constraints.in --generate-hashes --universal \
    --python-version 3.11 --no-header --upgrade -q -o "requirements/$out"
  echo "lock: requirements/$out"
}
compile pi.txt
compile centre.txt --extra bridge --extra centre
compile test.txt --extra test --extra bridge --extra centre --extra opencv
