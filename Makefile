# Sortline: `make run` starts the demo platform, `make test` runs the suite. `make help` lists all.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: help run test check migrate seed bench fmt clean

help: ## this list
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]' --config-settings editable_mode=compat
	touch $(STAMP)

run: $(STAMP) ## set up and start the whole platform with a demo city on http://127.0.0.1:8000
	$(BIN)/sortline run --demo

test: $(STAMP) ## set up and run the whole test suite (PostgreSQL/S3/browser suites when their env is set)
	$(BIN)/pytest $(PYTEST_ARGS)

check: $(STAMP) ## ruff (lint + format check) and mypy over the whole tree
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy services gateway bench tests

migrate: $(STAMP) ## apply every database migration
	$(BIN)/sortline migrate

seed: $(STAMP) ## migrate and seed the demo city (adds nothing twice)
	$(BIN)/sortline migrate
	$(BIN)/sortline seed-demo

bench: $(STAMP) ## run the benchmarks in bench/ (each prints "ratio X" last)
	for f in bench/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

fmt: $(STAMP) ## format the code
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean: ## remove local state (var/) — the demo city is rebuilt by the next `make run`
	rm -rf var
