# VHD Gate: `make demo` and `make test` set up everything they need on a fresh Debian machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
OUT ?= demo-out

.PHONY: all system-deps demo-deps venv test lint demo portal screens bench clean

all: test

system-deps:
	@bash provisioning/system-deps.sh test

demo-deps:
	@bash provisioning/system-deps.sh demo

$(STAMP): setup.py
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@# opencv-contrib (for the WeChat detector in bench/decode.py) replaces the plain wheel: both hold cv2
	$(PY) -m pip uninstall --quiet --yes opencv-python-headless >/dev/null 2>&1 || true
	$(PY) -m pip install --quiet -e '.[test,bridge,centre,opencv]'
	@touch $(STAMP)

venv: $(STAMP)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

test: system-deps venv lint
	DATABASE_URL="$$(bash provisioning/test-services.sh)" $(VENV)/bin/pytest -q

demo: demo-deps venv
	$(VENV)/bin/vhd-sim demo --out $(OUT)

portal: demo-deps venv
	$(VENV)/bin/vhd-centre demo --out $(OUT)/portal

screens: venv
	$(VENV)/bin/vhd-gate screens --out docs/screens --scale 3

bench: system-deps venv
	$(PY) bench/decode.py
	$(PY) bench/gate_rss.py
	DATABASE_URL="$$(bash provisioning/test-services.sh)" $(PY) bench/bridge.py
	DATABASE_URL="$$(bash provisioning/test-services.sh)" $(PY) bench/drain.py

clean:
	rm -rf $(VENV) $(OUT) *.egg-info .pytest_cache .ruff_cache .hypothesis
