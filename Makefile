# Two commands do everything on a fresh Debian bookworm machine: `make run` and `make test`.
# Every step is idempotent; a second run only checks stamps and answers in seconds.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
BIN   := $(VENV)/bin
export SAFENUM_DATA_DIR ?= $(CURDIR)/var
PYTEST_ARGS ?=
# Two pytest-xdist workers, a test file each at a time: each worker has its own Redis,
# Asterisks, RTP ports, temp dirs and PostgreSQL database (tests/conftest.py). The pbx
# tier mostly waits (dial timeouts, tones), so two share the 2 cores well.
# PYTEST_WORKERS=0 runs everything in one process.
PYTEST_WORKERS ?= 2
XDIST := -n $(PYTEST_WORKERS) --dist loadfile

.PHONY: run demo test test-db check lint types unit integration pbx browser bench screenshots system venv clean
.DEFAULT_GOAL := run

system:
	@bash deploy/scripts/install-system.sh

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(BIN)/pip install -q --disable-pip-version-check -e '.[test,dev]' 2>&1 | grep -v '^WARNING: Location' || true
	@$(PY) -c "import app_api, numbering, proxy, blocking" && touch $@

venv: $(VENV)/.installed

run: system venv
	@bash deploy/scripts/redis-up.sh "$(SAFENUM_DATA_DIR)"
	@$(BIN)/safenum db upgrade >/dev/null
	@if $(BIN)/safenum asterisk --help >/dev/null 2>&1; then $(BIN)/safenum asterisk up; fi
	@echo "safenum: API, console and drivers' app on $$($(PY) -c 'from app_api.settings import Settings; s = Settings(); print(f"http://{s.http_host}:{s.http_port}")') (/console, /app/, /docs)"
	@echo "  first operator: .venv/bin/safenum operators create --username admin --role district_admin"
	@echo "  see it work:    make demo   (in another terminal, while this one runs)"
	$(BIN)/safenum serve

# Against the stack `make run` started: a number, a call and two texts, SIPp as the phones.
demo: venv
	@$(BIN)/safenum demo

lint: venv
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .

types: venv
	@$(BIN)/mypy

test: system venv lint types
	$(BIN)/pytest -q $(XDIST) $(PYTEST_ARGS)

check: test

# CI's second pass, on the database SAFENUM_DATABASE_URL names: every tier but the unit
# tier, which never opens a database (lint and types do not depend on it either).
test-db: system venv
	$(BIN)/pytest -q $(XDIST) --ignore=tests/unit $(PYTEST_ARGS)

unit: venv
	$(BIN)/pytest -q tests/unit
integration: system venv
	$(BIN)/pytest -q $(XDIST) tests/integration
pbx: system venv
	$(BIN)/pytest -q $(XDIST) tests/pbx

browser: system venv
	$(BIN)/pytest -q tests/browser

bench: system venv
	$(PY) bench/allocation.py
	$(PY) bench/propagation.py
	$(PY) bench/relay.py
	$(PY) bench/cluster.py

screenshots: system venv
	$(PY) deploy/scripts/screenshots.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
