# rapport — `make demo` and `make test` work on a fresh machine with Python 3.11+ and make.
# The first run creates .venv and installs the project with its dev tools; later runs reuse it
# (reinstalling only when pyproject.toml changes).

PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	&& echo $$p && break; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint typecheck bench clean

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "rapport needs Python 3.11 or newer on PATH"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/rapport demo

# Two passes (README, "Testing"): every test with SQLite as the bot's database (the storage
# tests run on PostgreSQL too), then the tests that give the bot a database again on
# PostgreSQL. Without a PostgreSQL server the second pass is skipped, with
# RAPPORT_REQUIRE_POSTGRES=1 (CI) it fails.
PYTEST_PARALLEL := --numprocesses=auto --maxprocesses=4 --dist=loadfile

test: $(STAMP) lint typecheck
	$(BIN)/pytest -q -m "not packaging" $(PYTEST_PARALLEL)
	$(BIN)/pytest -q -m "not packaging" --database=postgres $(PYTEST_PARALLEL)
	$(BIN)/pytest -q -m packaging

lint: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy bot storage sandbox tests benchmarks scheduler

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
