# Tollgate: two commands on a machine that has Python >= 3.11, make and git.
#   make demo   the embedded demo (SQLite + filesystem broker) on http://127.0.0.1:8000
#   make test   the test suite (PostgreSQL/Redis/Chromium when configured, skipped with a reason otherwise)

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_STAMP := $(VENV)/.tollgate-demo.stamp
TEST_STAMP := $(VENV)/.tollgate-test.stamp
DEMO_HOST ?= 127.0.0.1
DEMO_PORT ?= 8000
PYTEST_ARGS ?=
# pytest-xdist processes (auto = one per core); each has its own test database and Celery queue
TEST_WORKERS ?= auto
TEST_VAR_DIR ?= $(CURDIR)/var/test
TEST_DEPS ?= $(TEST_STAMP)
BENCH_STAMP := $(VENV)/.tollgate-bench.stamp
# make bench / make drills run on the real services (never on the demo's SQLite): PostgreSQL and Redis
BENCH_DATABASE_URL ?= postgres://tollgate:tollgate@127.0.0.1:5432/tollgate_bench
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/3
BENCH ?=
DRILLS ?=
# the hostile-input long run fuzzes a throwaway test database made from this URL (test_<name>)
DRILLS_DATABASE_URL ?= postgres://tollgate:tollgate@127.0.0.1:5432/tollgate_drills

export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help demo test bench drills install install-test install-bench clean

help:
	@echo "make demo   start the demo on http://$(DEMO_HOST):$(DEMO_PORT) (web + Celery worker, SQLite)"
	@echo "make test   run the tests (PYTEST_ARGS='tests/ops -x' to narrow them)"
	@echo "make bench  the benchmark table on PostgreSQL + Redis (BENCH='pages load' to pick modules)"
	@echo "make drills the fault drills on their own PostgreSQL, Redis and workers (DRILLS='redis_down' to pick)"
	@echo "make clean  remove .venv and the demo's data under var/"

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Tollgate needs Python 3.11 or newer; '$(PYTHON)' is $$($(PYTHON) -V 2>&1). Try: make PYTHON=python3.12 ..."; exit 1; }
	$(PYTHON) -m venv $(VENV)

# The stamps make re-runs cheap: pip runs again only when pyproject.toml changes.
$(DEMO_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	@touch $@

$(TEST_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $@ $(DEMO_STAMP)

$(BENCH_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[test,bench]'
	@touch $@ $(TEST_STAMP) $(DEMO_STAMP)

install: $(DEMO_STAMP)
install-test: $(TEST_STAMP)
install-bench: $(BENCH_STAMP)

# migrate and seed_demo are idempotent, so `make demo` can be run again and again.
# The worker runs in the background and is stopped when the web server stops (Ctrl-C stops both).
demo: $(DEMO_STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@mkdir -p var
	@set -u; \
	$(VENV)/bin/celery -A config worker --pool=solo --loglevel=info >var/worker.log 2>&1 & worker=$$!; \
	$(PY) manage.py estate serve >var/estate.log 2>&1 & estate=$$!; \
	trap 'kill $$worker $$estate 2>/dev/null; wait $$worker $$estate 2>/dev/null; echo "Celery worker and demo estate stopped."' EXIT; \
	trap 'exit 0' INT; trap 'exit 143' TERM; trap 'exit 129' HUP; \
	echo; \
	echo "Tollgate demo: http://$(DEMO_HOST):$(DEMO_PORT)/"; \
	echo "Sign in with a demo login listed above (manager, cab1, admin, ...); the password is tollgate-demo."; \
	echo "Celery worker (pid $$worker) logs to var/worker.log."; \
	echo "Demo estate of fake services (pid $$estate) on 127.0.0.1:8765, logs to var/estate.log;"; \
	echo "make its services slow or failing as admin on /health/estate/ or with: manage.py estate set <service> slow"; \
	echo "Press Ctrl-C to stop everything."; \
	echo; \
	$(PY) manage.py runserver $(DEMO_HOST):$(DEMO_PORT) --noreload

# Tests get their own var folder (database file, broker folder) so they never touch the demo's.
# DATABASE_URL, REDIS_URL and CI pass through from the environment.
# pytest's exit code 5 (no test collected) counts as a failure.
test: $(TEST_DEPS)
	@mkdir -p $(TEST_VAR_DIR)
	@set +e; \
	TOLLGATE_VAR_DIR=$(TEST_VAR_DIR) $(PY) -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest ran no test; that is a failure."; exit 1; fi; \
	exit $$rc

# The large organisation is seeded once into BENCH_DATABASE_URL and kept for the next run; the other
# benchmarks use a throwaway test database on the same server.
bench: $(BENCH_STAMP)
	@mkdir -p var/bench
	TOLLGATE_VAR_DIR=$(CURDIR)/var/bench BENCH_DATABASE_URL=$(BENCH_DATABASE_URL) \
	DATABASE_URL=$(BENCH_DATABASE_URL) REDIS_URL=$(BENCH_REDIS_URL) $(PY) -m benchmarks.run $(BENCH)

# Each drill starts its own PostgreSQL cluster, Redis and workers on other ports.
drills: $(BENCH_STAMP)
	@mkdir -p var/drills
	TOLLGATE_VAR_DIR=$(CURDIR)/var/drills DATABASE_URL=$(DRILLS_DATABASE_URL) \
	$(PY) -m benchmarks.drills $(DRILLS)

clean:
	rm -rf $(VENV) var/tollgate.sqlite3 var/tollgate.sqlite3-* var/broker var/test var/bench var/drills var/worker.log
