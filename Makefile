# Orderly: `make run` serves the back-office with demo data; `make test` runs the whole suite.
# Both create .venv and install on first use. Python 3.12+ is preferred (Django 6); with only
# Python 3.11 the project installs Django 5.2 LTS plus django-template-partials instead.
# A second interpreter in its own virtualenv: `make test PYTHON=python3.11 VENV=.venv-py311`.
# A subset: `make test PYTEST_ARGS='tests/processes -m "not postgres"'`; a subset that selects
# no test fails (pytest's exit code 5) unless ALLOW_NO_TESTS=1.

SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
export PYTEST_ARGS

# First interpreter >= 3.12 found (also in pyenv's versions folder), else python3.
PYTHON ?= $(shell for c in python3.13 python3.12 $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV) python3 python; do \
	if command -v $$c >/dev/null 2>&1 && $$c -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then echo $$c; exit; fi; done; \
	for c in python3 python; do \
	if command -v $$c >/dev/null 2>&1 && $$c -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then echo $$c; exit; fi; done)

.PHONY: run test install sdk9 lint typecheck format check-deploy lint-bpmn feel-conformance bench clean \
	schemathesis reliability

$(VENV)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is needed"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# Camunda's previous Python client major, in a virtualenv of its own (it imports as the same
# name as the project's); tests/processes/clients/test_python_sdk.py runs its scenarios there.
SDK9_VENV ?= .venv-sdk9
export SDK9_VENV
SDK9_REQUIREMENTS := tests/processes/clients/requirements-sdk9.txt
$(SDK9_VENV)/.installed: $(SDK9_REQUIREMENTS)
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is needed"; exit 1; }
	test -x $(SDK9_VENV)/bin/python || $(PYTHON) -m venv $(SDK9_VENV)
	$(SDK9_VENV)/bin/python -m pip install --quiet -r $(SDK9_REQUIREMENTS)
	touch $@

sdk9: $(SDK9_VENV)/.installed

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo
	@echo ""
	@echo "Orderly back-office: http://$(HOST):$(PORT)/  (Ctrl-C stops it)"
	DEMO_VENDOR_SLA_MINUTES=$${DEMO_VENDOR_SLA_MINUTES:-3} $(PY) manage.py serve $(HOST):$(PORT)

test: install node_modules/.installed sdk9  # zbctl and Camunda's clients run in the suite
	@status=0; $(BIN)/pytest $(PYTEST_ARGS) || status=$$?; \
	if [ $$status -eq 5 ]; then \
		echo "pytest selected no tests (PYTEST_ARGS=$$PYTEST_ARGS)"; \
		if [ -n "$(ALLOW_NO_TESTS)" ]; then status=0; fi; \
	fi; exit $$status

# Schemathesis over /api/schema/ against a live test server (also part of `make test`);
# SCHEMATHESIS_MAX_EXAMPLES bounds the cases per operation.
schemathesis: install
	$(BIN)/pytest -p no:cacheprovider -m schemathesis tests/processes/api/test_schemathesis.py

# Fault injection (killed workers, restarted Redis, dropped connections; also part of `make test`).
reliability: install
	$(BIN)/pytest -p no:cacheprovider -m reliability tests/reliability

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check-deploy: install
	DJANGO_SETTINGS_MODULE=config.production \
		SECRET_KEY=$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(64))') \
		$(PY) manage.py check --deploy --fail-level WARNING

# BPMN lint (bpmnlint + Camunda 8.8 compatibility rules); node_modules is installed on first use.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

lint-bpmn: node_modules/.installed
	@if ls processes/bpmn/*.bpmn >/dev/null 2>&1; then npx bpmnlint processes/bpmn/*.bpmn; \
	else echo "processes/bpmn/ has no BPMN files yet"; fi

# FEEL pass rates per file and category: `make feel-conformance FEEL_CASES="path/*.jsonl"`.
FEEL_CASES ?= $(wildcard ../shared/conformance/feel/*.jsonl) tests/processes/feel/cases/orderly.jsonl
feel-conformance: install
	$(PY) -m processes.feel.conformance $(FEEL_CASES)

# Engine throughput figures (no assertions): `make bench BENCH_ARGS="--instances 50"`.
bench: install
	$(PY) bench/engine.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .venv-py311 .pytest_cache .test-db*.sqlite3*
