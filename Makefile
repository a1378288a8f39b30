# Two commands do everything on a fresh clone:
#   make demo   set up .venv, then run the ARIMA grid-search demo into ./autolog-runs
#   make test   set up .venv, then ruff and the whole test suite
# `make setup` alone creates the virtual environment. Set PYTHON to choose the interpreter.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: setup demo test lint format bench clean

setup: $(VENV)/.installed

# torch is pinned: an unpinned torch pulls a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

demo: setup
	$(BIN)/python -P examples/arima_grid.py

test: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	AUTOLOG_TESTING=1 $(BIN)/pytest

lint: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: setup
	$(BIN)/python -P bench/run_all.py

clean:
	rm -rf $(VENV) build dist *.egg-info autolog-runs
