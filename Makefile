# Sortline: `make run` starts the demo platform, `make test` runs the suite. `make help` lists all.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?= -n 2

.PHONY: help run test check migrate seed bench bench-tools fmt clean

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

bench: $(STAMP) bench-tools ## run the benchmarks in bench/ (each prints "ratio X" last)
	for f in bench/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

# What the benchmarks need besides Python: wrk (bench/gateway_hop.py), installed when missing on
# Debian/Ubuntu as root, else named. pages/list_scaling also need SORTLINE_BENCH_DATABASE_URL.
bench-tools:
	@if command -v wrk >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "安装 wrk（bench/gateway_hop.py 需要）"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; \
	else \
		echo "缺少 wrk：bench/gateway_hop.py 需要它。请以 root 运行 apt-get install -y wrk（Debian/Ubuntu）或 brew install wrk（macOS）后重试。" >&2; \
		exit 1; \
	fi
	@if [ -z "$$SORTLINE_BENCH_DATABASE_URL" ]; then \
		echo "提示：未设置 SORTLINE_BENCH_DATABASE_URL（PostgreSQL），bench/pages.py 与 bench/list_scaling.py 会退出；bench/streaming.py 改用 SQLite（生成 1,000,000 个设施较慢）。" >&2; \
	fi

fmt: $(STAMP) ## format the code
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean: ## remove local state (var/) — the demo city is rebuilt by the next `make run`
	rm -rf var
