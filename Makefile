# The project's commands. Only Python 3.11 is needed; everything else is installed into .venv.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
DATA   ?= ./data
PORT   ?= 8080
export GATEWAY_TEST_POSTGRES ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: run test fuzz lint demo fmt clean bench bench-scale soak chromium mutate

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

$(VENV)/.installed-mutate: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,mutate]'
	@touch $(VENV)/.installed $@

# One mutmut session per module of the security core (docs/mutation-testing.md), each under a
# time limit; MUTATE_MODULES=... runs some of them. The store's session mutates use_jti only.
MUTATE_MODULES ?= subject replay auth log policy compiled consent
MUTATE_TIMEOUT ?= 3600
MUTATE_JOBS    ?= 2
mutate_subject := gateway.subject.*
mutate_log     := gateway.log.*
mutate_auth    := gateway.auth.*
mutate_replay  := gateway.store.*use_jti__mutmut_*
mutate_policy  := gateway.policy.*
mutate_compiled := gateway.config.compiled_schema.*
mutate_consent := consent.*

mutate: $(VENV)/.installed-mutate  ## mutation testing of the security core (not part of make test)
	@# the tests find ../shared/vectors from the project root; mutmut runs them from mutants/
	@if [ -d ../shared ] && [ ! -e shared ]; then ln -s ../shared shared; fi
	rm -rf mutants
	@for m in $(MUTATE_MODULES); do \
	  case $$m in \
	    subject) p='$(mutate_subject)';; log) p='$(mutate_log)';; auth) p='$(mutate_auth)';; \
	    replay) p='$(mutate_replay)';; policy) p='$(mutate_policy)';; consent) p='$(mutate_consent)';; \
	    compiled) p='$(mutate_compiled)';; \
	    *) echo "make mutate: unknown module $$m"; exit 2;; \
	  esac; \
	  echo "== mutmut session: $$m ($$p)"; \
	  timeout $(MUTATE_TIMEOUT) $(BIN)/mutmut run --max-children $(MUTATE_JOBS) "$$p" >mutants-$$m.log 2>&1 \
	    || echo "make mutate: session $$m ended with status $$? (see mutants-$$m.log)"; \
	done
	$(BIN)/mutmut results --all true | $(BIN)/python -m bench.mutation_summary

lint: $(VENV)/.installed-dev  ## ruff, mypy --strict and the import layers (pyproject's [tool.importlinter])
	$(BIN)/ruff check gateway consent tests bench
	$(BIN)/ruff format --check gateway consent tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

fmt: $(VENV)/.installed-dev
	$(BIN)/ruff format gateway consent tests bench
	$(BIN)/ruff check --fix gateway consent tests bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
