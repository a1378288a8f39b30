# Two commands do everything on a fresh clone:
#   make demo   set up .venv, then run the ARIMA grid-search demo into ./autolog-runs
#   make test   set up .venv and the test tools, then ruff, mypy and the whole test suite
# `make check` is the quick loop while editing: ruff, mypy and the tests that start no
# external service and are not marked slow (those that spawn processes or take seconds),
# including the quick subset of tests/peer (its side without autolog is cached after the
# first run). `make setup` alone creates the virtual environment;
# `make tools` finds or installs Azurite, PostgreSQL and Chromium (tests/support/tools.py).
# Set PYTHON to choose the interpreter, ARGS to pass pytest options or test files
# (make test ARGS=tests/backends).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: setup tools demo test check lint-check types lint bench clean

setup: $(VENV)/.installed

# torch is pinned: an unpinned torch pulls a multi-GB CUDA build. pip >= 25.1 reads the
# PEP 735 dependency group (--group dev) that holds the test-only dependencies.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade 'pip>=25.1'
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[all]' --group dev
	touch $@

tools: setup
	$(BIN)/python -m tests.support.tools

demo: setup
	$(BIN)/python -P examples/arima_grid.py

test: setup tools lint-check types
	AUTOLOG_TESTING=1 $(BIN)/pytest $(ARGS)

check: setup lint-check types
	AUTOLOG_TESTING=1 $(BIN)/pytest -q -m "not service and not slow" $(ARGS)

lint-check: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: setup
	$(BIN)/mypy

lint: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: setup
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) .tools build dist *.egg-info autolog-runs
