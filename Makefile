# Two entry points: `make smoke` (the main job on the embedded default) and `make test`.
# Both create .venv on first use: the CPU torch wheel first, then the project with its pins.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: smoke test install

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q "torch==2.13.0"
	$(BIN)/python -m pip install -q -e ".[test,mp,dft,cloud]"
	touch $@

smoke: install
	$(BIN)/crystalbench run configs/smoke.yaml --resume
	$(BIN)/crystalbench report runs/smoke

test: install
	$(BIN)/python -m pytest
