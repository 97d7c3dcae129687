# `make demo` and `make test` are the whole setup: each creates .venv and installs the project
# (with its dev extras) the first time, then runs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint format docs clean

$(STAMP): pyproject.toml setup.cfg
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	mkdir -p .demo && cd .demo && ../$(BIN)/trainhooks tune ../examples/quickstart.toml

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix . && $(BIN)/ruff format .

# docs/hooks.md and docs/events.md are generated from hooks/ (a test fails when they are stale)
docs: $(STAMP)
	$(BIN)/python docs/generate_reference.py

clean:
	rm -rf $(VENV) build dist .demo *.egg-info
