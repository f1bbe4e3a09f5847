# Two entry points: `make smoke` (the main job on the embedded default) and `make test` (what CI runs).
# Each creates .venv on first use: the CPU torch wheel first, then the project with its pins.
# System packages come from one script, scripts/system-packages, and only where an extra needs them:
#   make smoke   the core install (no system packages); the main job needs nothing else
#   make test    + scripts/system-packages dft browser (GPAW's build libraries, Debian's Chromium), the test and dft extras,
#                and the example plugin distribution examples/crystalbench-examples (its tests run with ours)
#   make dft     + GPAW's build libraries and the dft extra: csp26's `judge: gpaw` / `energy_model: gpaw`
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: smoke test install dft

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q "torch==2.13.0"
	$(BIN)/python -m pip install -q -e ".[mp,cloud]"
	touch $@

dft: $(VENV)/.installed-dft

$(VENV)/.installed-dft: $(VENV)/.installed
	scripts/system-packages dft
	$(BIN)/python -m pip install -q -e ".[mp,cloud,dft]"
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed examples/crystalbench-examples/pyproject.toml
	scripts/system-packages dft browser
	$(BIN)/python -m pip install -q -e ".[mp,cloud,dft,test]"
	$(BIN)/python -m pip install -q --no-deps -e examples/crystalbench-examples
	touch $@

smoke: install
	$(BIN)/crystalbench run configs/smoke.yaml --resume
	$(BIN)/crystalbench report runs/smoke

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest
