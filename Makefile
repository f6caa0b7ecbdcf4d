# VHD Gate: `make demo` and `make test` set up everything they need on a fresh Debian machine.
# Debian 12's and Raspberry Pi OS bookworm's interpreter (3.11.2) is what users run: use it where it exists.
PYTHON ?= $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || echo python3)
VENV ?= .venv
PY := $(VENV)/bin/python
PYVER := $(shell $(PYTHON) -c 'import sys; print(sys.version.split()[0])')
STAMP := $(VENV)/.installed-$(PYVER)
AXE := tests/axe/node_modules/axe-core/axe.min.js
OUT ?= demo-out
PORT ?= 8000

.PHONY: all system-deps demo-deps venv lock test lint demo portal screens bench clean

all: test

system-deps:
	@bash provisioning/system-deps.sh test

demo-deps:
	@bash provisioning/system-deps.sh demo

# The venv is made by $(PYTHON) and holds exactly what requirements-test.txt pins (hashes checked);
# a venv left by another interpreter is made again.
$(STAMP): setup.py requirements-test.txt
	@if [ -x $(PY) ] && [ "$$($(PY) -c 'import sys; print(sys.version.split()[0])')" != "$(PYVER)" ]; then \
	    echo "venv: $(VENV) was made by another Python; making it again with $(PYTHON) $(PYVER)"; rm -rf $(VENV); fi
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@# opencv-contrib (for the WeChat detector in bench/decode.py) replaces the plain wheel: both hold cv2
	$(PY) -m pip uninstall --quiet --yes opencv-python-headless >/dev/null 2>&1 || true
	$(PY) -m pip install --quiet --require-hashes -r requirements-test.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

venv: $(STAMP)

# axe-core for the browser tests' accessibility checks: exactly what package-lock.json pins
# (its integrity hash checked by npm), no install scripts run.
$(AXE): tests/axe/package-lock.json
	npm ci --prefix tests/axe --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $(AXE)

# Resolve every lock file again (newest versions within setup.py's ranges and
# constraints.txt), then run the whole suite on them.
lock: venv
	$(PY) -m pip install --quiet 'uv>=0.5'
	bash provisioning/lock.sh $(VENV)/bin/uv --upgrade
	@rm -f $(VENV)/.installed-*
	$(MAKE) test

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

test: system-deps venv lint $(AXE)
	DATABASE_URL="$$(bash provisioning/test-services.sh)" $(VENV)/bin/pytest -q

demo: demo-deps venv
	$(VENV)/bin/vhd-sim demo --out $(OUT)

portal: demo-deps venv
	$(VENV)/bin/vhd-centre demo --out $(OUT)/portal --listen 127.0.0.1:$(PORT)

screens: venv
	$(VENV)/bin/vhd-gate screens --out docs/screens --scale 3

bench: system-deps venv
	$(PY) bench/decode.py
	$(PY) bench/gate_rss.py
	DATABASE_URL="$$(bash provisioning/test-services.sh)" $(PY) bench/bridge.py
	DATABASE_URL="$$(bash provisioning/test-services.sh)" $(PY) bench/drain.py
	DATABASE_URL="$$(bash provisioning/test-services.sh)" $(PY) bench/portal.py

clean:
	rm -rf $(VENV) $(OUT) tests/axe/node_modules *.egg-info .pytest_cache .ruff_cache .hypothesis
