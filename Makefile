# DeML: the two commands a new user needs are `make demo` and `make test`.
# `make setup` is idempotent: it reinstalls only when pyproject.toml, requirements.lock,
# package.json or package-lock.json changed since the last install.

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
DEML := $(VENV)/bin/deml
PY_STAMP := $(VENV)/.deml-installed
# Slither lives in a venv of its own: it pins a web3 older than the project's.
SLITHER := .slither/bin/slither
NODE_STAMP := node_modules/.deml-installed
# The 30 slowest tests at the end of every run: CI must stay under 45 minutes on 2 cores.
PYTEST_ARGS ?= --durations=30

.PHONY: setup demo test lint format clean

CHROMIUM := /usr/bin/chromium

setup: $(PY_STAMP) $(NODE_STAMP) $(SLITHER) $(CHROMIUM)

$(PY):
	$(PYTHON) -m venv $(VENV)

# requirements.lock pins every package to versions known to resolve together here.
$(PY_STAMP): pyproject.toml requirements.lock | $(PY)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet -c requirements.lock -e ".[dev]"
	touch $@

$(SLITHER):
	$(PYTHON) -m venv .slither
	.slither/bin/pip install --quiet slither-analyzer==0.11.6 crytic-compile==0.4.2

# The dashboard's browser tests drive Debian's chromium through playwright-core.
# A file target: skipped when /usr/bin/chromium already exists.
$(CHROMIUM):
	@if ! command -v apt-get >/dev/null; then \
	  echo "no apt-get: install chromium at $@ for the browser tests"; exit 1; \
	else \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -q && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	fi

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The demo plays on the factory of the local dev chain: deployed once (a no-op after).
demo: setup
	$(DEML) contracts deploy
	$(DEML) demo

# The import contracts (pyproject.toml, [tool.importlinter]) first: seconds, and a broken
# layering fails fast. Then two phases: every test but the `serial` ones across
# $(TEST_WORKERS) processes (pytest-xdist), then the `serial` ones alone, since their phases
# are timed in wall-clock seconds and must not share the CPUs. Both phases always run.
# pytest exits 5 when it collected no tests (a PYTEST_ARGS path holding only one kind):
# reported, not failed.
TEST_WORKERS ?= 2
test: setup
	$(VENV)/bin/lint-imports --no-cache
	@$(PY) -m pytest -n $(TEST_WORKERS) --dist worksteal -m "not serial" $(PYTEST_ARGS); a=$$?; \
	$(PY) -m pytest -m serial $(PYTEST_ARGS); b=$$?; \
	for s in $$a $$b; do \
	  if [ $$s -eq 5 ]; then echo "pytest collected no tests in one phase"; \
	  elif [ $$s -ne 0 ]; then exit $$s; fi; \
	done

lint: setup
	$(VENV)/bin/ruff check deml tasks flows bench tests
	$(VENV)/bin/ruff format --check deml tasks flows bench tests
	$(VENV)/bin/lint-imports --no-cache

format: setup
	$(VENV)/bin/ruff format deml tasks flows bench tests
	$(VENV)/bin/ruff check --fix deml tasks flows bench tests

clean:
	rm -rf $(VENV) .slither node_modules .deml .pytest_cache .hypothesis
