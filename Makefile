# Cadre: `make run` starts the platform, `make test` checks it. Everything else is below.
# A fresh machine needs only python3 (3.11), make and git: uv is installed into .tools/,
# the pinned dependencies (uv.lock) into .venv/, and the stubs are generated from proto/.

PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)

.DEFAULT_GOAL := help
.PHONY: help setup gen run test lint breaking fmt bench clean

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-14s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(BIN)/python: $(UV) uv.lock pyproject.toml libs/*/pyproject.toml services/*/pyproject.toml
	$(UV) sync --locked --quiet
	@touch $@

setup: $(BIN)/python gen ## Create .venv with the pinned dependencies and generate the stubs

gen: $(BIN)/python ## Generate the Python stubs from proto/ (skipped when unchanged)
	@$(BIN)/python libs/contracts/generate.py

run: setup ## Start NATS and every service on this machine (Ctrl-C stops them)
	$(BIN)/cadre up

test: setup ## Run the whole test suite (SQLite; set CADRE_TEST_DATABASE_URL for PostgreSQL)
	$(BIN)/pytest -q

lint: setup ## ruff, mypy, buf lint (and buf breaking against main when there is one)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/buf lint
	@if git rev-parse --verify --quiet main >/dev/null && git cat-file -e main:buf.yaml 2>/dev/null; then \
		$(MAKE) --no-print-directory breaking; fi

# main's contracts, with the same google/* includes (which git does not keep), as a buf image.
breaking: gen ## buf breaking (FILE) of proto/ against the main branch
	@rm -rf build/main-contracts && mkdir -p build/main-contracts/build
	@git archive main proto buf.yaml | tar -x -C build/main-contracts
	@cp -r build/proto-include build/main-contracts/build/
	@cd build/main-contracts && ../../$(BIN)/buf build -o ../main-contracts.binpb
	@$(BIN)/buf build -o build/contracts.binpb
	$(BIN)/buf breaking build/contracts.binpb --against build/main-contracts.binpb

fmt: setup ## Format the code
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: setup ## Run the benchmarks; figures go to docs/benchmarks.md
	$(UV) sync --locked --quiet --group bench  # adds pyworkforce, the staffing math's peer
	$(BIN)/python -m bench

clean: ## Remove the environment, generated stubs and local data
	rm -rf $(TOOLS) $(VENV) build data libs/contracts/src/.generated
	find libs/contracts/src/cadre -mindepth 1 -maxdepth 1 -type d -exec rm -rf {} +
