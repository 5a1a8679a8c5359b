# The project's commands. Only Python 3.11 is needed; everything else is installed into .venv.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
DATA   ?= ./data
PORT   ?= 8080
export GATEWAY_TEST_POSTGRES ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: run test fuzz lint demo fmt clean bench bench-scale soak chromium

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "make: $(PYTHON) not found; set PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,lint,bench]'
	@touch $(VENV)/.installed $@

run: $(VENV)/.installed  ## start the gateway on the shipped config, data in ./data
	$(BIN)/gateway serve --config config --data $(DATA) --port $(PORT)

demo: $(VENV)/.installed  ## play the demo story on a temporary data folder
	$(BIN)/gateway demo

test: $(VENV)/.installed-dev  ## the whole suite
	@command -v chromium >/dev/null 2>&1 || $(MAKE) --no-print-directory chromium
	$(BIN)/python -m pytest

fuzz: $(VENV)/.installed-dev  ## schemathesis against /v1/openapi.json, long (FUZZ_EXAMPLES per operation, default 1000)
	FUZZ_EXAMPLES=$(or $(FUZZ_EXAMPLES),1000) $(BIN)/python -m pytest -p no:cacheprovider tests/test_fuzz_openapi.py

chromium:  ## Debian's Chromium for the browser tests (Playwright's own download is not used)
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium

bench: $(VENV)/.installed-dev  ## throughput and latency, gateway vs bare aiohttp (QUICK=1: under a minute)
	$(BIN)/python -m bench.run $(if $(QUICK),--quick)

bench-scale: $(VENV)/.installed-dev  ## cost against consent-registry and log size
	$(BIN)/python -m bench.scale $(if $(QUICK),--quick)

soak: $(VENV)/.installed-dev  ## mixed traffic at 64 connections (DURATION=600 s, BACKEND=both|sqlite|postgresql)
	$(BIN)/python -m bench.soak --duration $(or $(DURATION),600) --backend $(or $(BACKEND),both)

lint: $(VENV)/.installed-dev  ## ruff and mypy --strict
	$(BIN)/ruff check gateway consent tests bench
	$(BIN)/ruff format --check gateway consent tests bench
	$(BIN)/mypy

fmt: $(VENV)/.installed-dev
	$(BIN)/ruff format gateway consent tests bench
	$(BIN)/ruff check --fix gateway consent tests bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
