#!/usr/bin/env bash
# Writes the lock files from setup.py's ranges under constraints.txt, with every file's hash:
#   requirements-pi.txt      the gate on a Raspberry Pi (install-pi.sh)
#   requirements-centre.txt  the centre's server: bridge and web site
#   requirements-test.txt    everything, for `make test`, the demos and the benchmarks
# Usage: bash provisioning/lock.sh UV [--upgrade]   (`make lock` runs it with --upgrade)
set -euo pipefail
uv=${1:-uv}
shift || true
cd "$(dirname "$0")/.."
compile() {
  local out=$1; shift
  "$uv" pip compile setup.py "$@" -c constraints.txt --generate-hashes --universal \
    --python-version 3.11 --no-header -q -o "$out"
  echo "lock: $out"
}
compile requirements-pi.txt "$@"
compile requirements-centre.txt --extra bridge --extra centre "$@"
compile requirements-test.txt --extra test --extra bridge --extra centre --extra opencv "$@"
