# The two commands of the course: `make lab` (the course as students see it) and `make test`
# (everyone, and CI). Students get the student edition (`make student-edition`), not this.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.chainrule-installed
PORT ?= 8888
# The student's own copy of the notebooks, the folder `make lab` serves (git-ignored). lectures/
# is the instructor's (tracked, rebuilt by every release) and is never opened in the lab.
WORK ?= work
# JupyterLab settings of the course environment: jupyterlab_server reads every file of
# <sys.prefix>/share/jupyter/lab/settings/overrides.d/ as defaults (a user's own settings still
# win), whichever settings dir the user has. jupyter/chainrule.json: no "Would you like to get
# notified about official Jupyter news?" prompt.
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings/overrides.d/chainrule.json
# Jupyter refuses to run as root unless told; containers and CI machines often are root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

# Tools installed in the venv (jupyter, nbgrader, and alembic, which nbgrader calls by name to
# migrate a gradebook) must be found on PATH by every command below and their subprocesses.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: lab test lint format bench html student-edition clean-venv

$(STAMP): requirements.txt requirements-student.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt -e .
	touch $(STAMP)

$(LAB_SETTINGS): jupyter/chainrule.json | $(STAMP)
	mkdir -p $(@D)
	cp $< $@

## lab: set up .venv if needed, copy into $(WORK)/ the notebooks of lectures/ it lacks (a file
## already there is never overwritten: delete it, or the whole folder, to start over from a fresh
## copy), then open $(WORK)/ in JupyterLab. The server runs from the repository root, where
## nbgrader's Validate button finds nbgrader_config.py.
lab: $(STAMP) $(LAB_SETTINGS)
	$(BIN)/python -m grader lab-copy --to $(WORK)
	$(BIN)/jupyter lab --ServerApp.root_dir=$(WORK) --port=$(PORT) $(ALLOW_ROOT) $(LAB_ARGS)

## test: set up .venv if needed, then run the whole test suite, one test file per core (at most 4).
## Python keeps its bytecode caches (__pycache__/, git-ignored) even where the environment sets
## PYTHONDONTWRITEBYTECODE: without them every pytest process rewrites and compiles the test
## modules again, and every grading sandbox and `python -m grader` process compiles the course's
## modules again (tens of CPU-seconds a run).
test: $(STAMP)
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest -n auto --maxprocesses 4 --dist loadfile $(PYTEST_ARGS)

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

## student-edition: what students and Binder get, in $(EDITION)/ (push it as its own repository):
## lectures/, chainrule, their set-up; no answer, no hidden test (python -m grader publish)
EDITION ?= build/student
student-edition: $(STAMP)
	$(BIN)/python -m grader publish $(EDITION)

clean-venv:
	rm -rf $(VENV)
