"""What the forkserver of the grading processes does once, so that no grading process redoes it.

The forkserver (:mod:`grader.process`) imports this module, and every grading process it forks
inherits the result: :func:`warm_up` runs at import and makes, from library code and constants
only, what each grading process would otherwise make again on first use:

* nbformat's validators of the current notebook format, strict and relaxed (nbformat checks
  every notebook it reads or writes, nbconvert every notebook after each autograde step), each
  compiled by fastjsonschema;
* the validator of nbgrader's cell metadata schema
  (:class:`grader.preprocessors.CheckCellMetadata`);
* SQLAlchemy's mappers of nbgrader's gradebook and its SQLite dialect, by making the
  gradebook's tables and reading one of them in a database in memory, dropped at once;
* the modules grading imports late: :mod:`grader.preprocessors` (named by
  ``nbgrader_config.py``), ``numpy.random`` (``hidden_rng``, the sandbox's generators);
* the names each code cell of the assignments' source and release notebooks binds and reads
  (:mod:`grader.demos`, cached by the cell's text), which the plan of every submission asks
  again: the setup, demo and test cells are the instructor's, and most answers are the
  solution's or the stub's. The notebooks are those :class:`grader.process.GradingProcesses`
  names in :data:`grader.process.NOTEBOOKS_ENV` as it starts the forkserver; the variable is
  then removed, so no grading process or sandbox inherits it.

It also puts numpy's BLAS on one thread, as the sandbox's is
(:data:`grader.trusted.environment.ONE_BLAS_THREAD`): the tests' arrays are small, ``--jobs N``
runs N grading processes on N cores, and idle OpenBLAS threads spin.

None of it reads a submission, and no student code runs here (it runs in the sandbox only); of
the course it reads only those notebooks, the instructor's. A grading process then validates,
queries, plans and scores as it would have, only sooner.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import numpy.random  # noqa: F401  (imported here once, not by every grading process)
from nbformat.v4 import new_notebook
from nbgrader.api import Base, Course
from sqlalchemy import create_engine, inspect
from sqlalchemy.orm import Session, configure_mappers
from threadpoolctl import threadpool_limits

from grader import demos
from grader.preprocessors import MetadataValidator
from grader.process import NOTEBOOKS_ENV


def warm_up() -> None:
    """Make the validators and SQLAlchemy's set-up that every grading process uses."""
    for relaxed in (False, True):
        nbformat.validate(new_notebook(), relax_add_props=relaxed)
    MetadataValidator().schema_validator()
    configure_mappers()
    engine = create_engine("sqlite://")
    try:
        inspect(engine).get_table_names()
        Base.metadata.create_all(bind=engine)
        with Session(engine) as session:
            session.get(Course, "")
    finally:
        engine.dispose()


def analyse_cells(paths: list[Path]) -> None:
    """Cache what each code cell of the notebooks at ``paths`` binds and reads. A notebook that
    cannot be read is left to the grading processes, which report it."""
    for path in paths:
        try:
            cells = nbformat.read(path, as_version=4).cells
        except Exception:  # noqa: BLE001 - OSError, not JSON, not a notebook: only a cache
            continue
        for cell in cells:
            if cell.cell_type == "code":
                demos.binds(cell.source)
                demos.reads(cell.source)


threadpool_limits(limits=1, user_api="blas")
warm_up()
analyse_cells([Path(p) for p in os.environ.pop(NOTEBOOKS_ENV, "").split(os.pathsep) if p])
