# The two commands of the course: `make lab` (students) and `make test` (everyone, and CI).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.chainrule-installed
PORT ?= 8888
# Jupyter refuses to run as root unless told; containers and CI machines often are root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

# Tools installed in the venv (jupyter, nbgrader, and alembic, which nbgrader calls by name to
# migrate a gradebook) must be found on PATH by every command below and their subprocesses.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: lab test lint format bench html clean-venv

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt -e .
	touch $(STAMP)

## lab: set up .venv if needed, then open the student notebooks in JupyterLab
lab: $(STAMP)
	$(BIN)/jupyter lab --ServerApp.root_dir=lectures --port=$(PORT) $(ALLOW_ROOT) $(LAB_ARGS)

## test: set up .venv if needed, then run the whole test suite, one test file per core (at most 4)
test: $(STAMP)
	$(BIN)/python -m pytest -n auto --maxprocesses 4 --dist loadfile $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check chainrule grader benchmarks tests
	$(BIN)/ruff format --check chainrule grader benchmarks tests

format: $(STAMP)
	$(BIN)/ruff format chainrule grader benchmarks tests
	$(BIN)/ruff check --fix chainrule grader benchmarks tests

bench: $(STAMP)
	$(BIN)/python -m benchmarks

## html: the lectures as static HTML, figures and math included, in build/html/ (index.html)
html: $(STAMP)
	$(BIN)/python -m grader html --to build/html

clean-venv:
	rm -rf $(VENV)
