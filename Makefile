# `make demo` and `make test` are the whole setup: each creates .venv and installs the project the
# first time, then runs. `demo` installs every plugin's extra (`.[all]`) and no dev tools; `test`
# adds the dev tools (`.[all,dev]`). Each has its own stamp, so `make demo` then `make test` works.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_STAMP := $(VENV)/.installed-all
TEST_STAMP := $(VENV)/.installed-all-dev
PYTEST_ARGS ?=

.PHONY: demo test coverage lint format docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(DEMO_STAMP): pyproject.toml setup.cfg | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[all]"
	touch $@

$(TEST_STAMP): pyproject.toml setup.cfg | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[all,dev]"
	touch $@

demo: $(DEMO_STAMP)
	mkdir -p .demo && cd .demo && ../$(BIN)/trainhooks tune ../examples/quickstart.toml

# The README's test command: the whole suite (slow tests included). PYTEST_ARGS adds options.
test: $(TEST_STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# `make test` with line coverage of the trainhooks package: coverage.xml (CI keeps it) and a
# summary, written even when a test fails; the exit status is pytest's.
coverage: $(TEST_STAMP)
	$(BIN)/python -m coverage run -m pytest $(PYTEST_ARGS); status=$$?; \
	$(BIN)/python -m coverage xml -o coverage.xml; $(BIN)/python -m coverage report --skip-empty; exit $$status

lint: $(TEST_STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: $(TEST_STAMP)
	$(BIN)/ruff check --fix . && $(BIN)/ruff format .

# docs/hooks.md and docs/events.md are generated from hooks/ (a test fails when they are stale)
docs: $(TEST_STAMP)
	$(BIN)/python docs/generate_reference.py

clean:
	rm -rf $(VENV) build dist .demo *.egg-info coverage.xml .coverage
