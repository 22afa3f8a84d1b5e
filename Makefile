# Two commands do all set-up on a fresh machine: `make run` and `make test`.
# Each bootstraps what it needs (virtual environment, package, verified models) and is
# quick when nothing changed: pip keeps the compiled llama-cpp-python wheel in its cache,
# and an installed model is only re-checked against its verification marker.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
LF     := $(VENV)/bin/localfactory
STAMP  := $(VENV)/.installed

# The default coder runs `make run`; the fast 0.5B model runs the integration tests.
RUN_MODEL  ?= qwen2.5-coder-1.5b
TEST_MODEL ?= qwen2.5-coder-0.5b
PYTEST_ARGS ?=

.PHONY: run test unit setup models lint typecheck bench clean

# The main job: build the shipped example spec end to end with the embedded default coder.
RUN_SPEC ?= examples/text-tools.md

run: $(STAMP)
	$(LF) models install $(RUN_MODEL)
	$(LF) run $(RUN_SPEC)

# The Docker tests build and run twin images on a real engine: `engine ensure` installs docker.io
# and debootstrap when missing (as root) and starts dockerd with no bridge network. Where it cannot
# (no root), the Docker tests are skipped, except in CI (CI=true), where they fail.
test: $(STAMP)
	-$(PY) -m localfactory.twins.engine ensure
	$(LF) models install $(TEST_MODEL)
	$(PY) -m pytest $(PYTEST_ARGS)

unit: $(STAMP)
	$(PY) -m pytest -m "not integration and not docker" $(PYTEST_ARGS)

setup: $(STAMP)

models: $(STAMP)
	$(LF) models install $(RUN_MODEL) $(TEST_MODEL)

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Re-installs only when pyproject.toml changed; llama-cpp-python compiles once (~7.5 min on 2 cores)
# and later installs reuse pip's cached wheel.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check localfactory twins tests
	$(VENV)/bin/ruff format --check localfactory twins tests
	$(VENV)/bin/lint-imports

typecheck: $(STAMP)
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy --explicit-package-bases twins

bench: $(STAMP)
	$(LF) models install $(TEST_MODEL)
	$(LF) bench llm --model $(TEST_MODEL)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
