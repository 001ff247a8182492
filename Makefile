# The verbs people type. `make run` and `make test` work on a fresh machine (Python 3.11+).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/ains: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(BIN)/ains

run: $(BIN)/ains  ## the server on SQLite (./ains.db), http://127.0.0.1:8000
	$(BIN)/ains serve

test: $(BIN)/ains  ## the whole suite, SQLite and PostgreSQL, with line coverage
	rm -f .coverage .coverage.*
	$(BIN)/coverage run -m pytest -n 3 --dist loadscope -m "not serial" $(PYTEST_ARGS)
	$(BIN)/coverage run -m pytest -p no:xdist -m serial $(PYTEST_ARGS)
	$(BIN)/coverage combine -q
	$(BIN)/coverage report

lint: $(BIN)/ains
	$(BIN)/ruff check ains ains_client ains_agent tests bench tools examples
	$(BIN)/ruff format --check ains ains_client ains_agent tests bench tools examples
	$(BIN)/mypy
	$(BIN)/hadolint Dockerfile  # and the compose schema check: tests/deploy

docs: $(BIN)/ains  ## the docs site into site/ (mkdocs strict: a broken link or missing page fails)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

bench: $(BIN)/ains  ## quick run of every bench, one summary table; BENCH_ARGS="--full --json out.json"
	$(BIN)/python -m bench.run $(BENCH_ARGS)

bench-compare: $(BIN)/ains  ## AINS beside Celery and PgQueuer (installs the [bench] extra)
	$(BIN)/pip install -q -e '.[dev,bench]'
	$(BIN)/python -m bench.compare $(BENCH_ARGS)

.PHONY: install run test lint docs bench bench-compare
