# scenelab: `make run` runs the built-in Bergen scenario; `make test` runs the whole suite.
#
# `make run` installs the core package only (what `scenelab run` needs); `make test`, `lint`,
# `format` and `bench` install it with every extra: experiments (Dask, DuckDB, SALib), calibrate
# (pyabc), bench (Mesa), dashboard (Dash, Playwright) and dev (pytest, ruff). Each install has its
# own stamp file.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
FULL_STAMP := $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# The installs skip pip's byte-compilation of every package (half the install time); Python
# then writes the bytecode of what a command actually imports, the first time it imports it.
# Where the environment forbids that (PYTHONDONTWRITEBYTECODE, common in container images),
# every later start would compile ~1,500 modules from source again (cached start 5.0 s instead
# of 2.5 s), so the commands make runs write the bytecode into the environment make created.
WRITE_PYC := env -u PYTHONDONTWRITEBYTECODE

.PHONY: run test lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --no-compile -e .
	touch $(RUN_STAMP)

# A superset of the core install: it satisfies `make run` too.
$(FULL_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --no-compile -e '.[dev,experiments,calibrate,bench,dashboard]'
	touch $(FULL_STAMP) $(RUN_STAMP)

run: $(RUN_STAMP)
	$(WRITE_PYC) $(BIN)/scenelab run bergen --out out/bergen --replicates 3

test: $(FULL_STAMP)
	bash scripts/ensure_chromium.sh
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(WRITE_PYC) $(BIN)/python -m pytest -q

lint: $(FULL_STAMP)
	$(BIN)/ruff check src tests benchmarks

format: $(FULL_STAMP)
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

bench: $(FULL_STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) out .pytest_cache
