# The two front-door commands: `make demo` (set up, then serve) and `make test` (set up, then lint, type-check, test).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo serve test lint typecheck pytest clients-deps bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# Serves http://127.0.0.1:8000/mcp — with the local simulators (sandbox) when no provider key is configured.
demo: install
	$(BIN)/genmcp serve

serve: demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

# The client tests (official TypeScript SDK, MCP Inspector, conformance suite) need Node packages; they are installed
# when npm is present (CI requires them).
clients-deps:
	@if command -v npm >/dev/null; then bash tests/clients/install.sh; else echo "npm not found: client tests skip"; fi

pytest: install clients-deps
	$(BIN)/python -m pytest

test: lint typecheck pytest

clean:
	rm -rf $(VENV) *.egg-info tests/clients/node_modules

# Benchmarks (apart from the tests): prints the tables and writes bench/RESULTS.md. CI runs only `--quick`.
bench: $(VENV)/.bench-installed
	$(BIN)/python -m bench.run

$(VENV)/.bench-installed: pyproject.toml $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	touch $@
