# `make test` works from a fresh clone on a fresh machine: it builds .venv, installs
# PyTorch (pinned here to the CPU wheel these machines carry; the package itself asks
# only for torch>=2.2), the package with its dev extras, then lints and tests.
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LINT_PATHS := $(wildcard src tests benchmarks)

.PHONY: install test test-fast lint typecheck demo clean

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(PY) -m ruff check $(LINT_PATHS)
	$(PY) -m ruff format --check $(LINT_PATHS)

typecheck: $(STAMP)
	$(PY) -m mypy

test: lint typecheck
	$(PY) -m pytest -q

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

demo: $(STAMP)
	@echo "make demo arrives with the training command (issue 5); nothing to run yet."

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
