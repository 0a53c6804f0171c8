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
  ``nbgrader_config.py``), ``numpy.random`` (``hidden_rng``, the sandbox's generators).

It also puts numpy's BLAS on one thread, as the sandbox's is
(:data:`grader.trusted.environment.ONE_BLAS_THREAD`): the tests' arrays are small, ``--jobs N``
runs N grading processes on N cores, and idle OpenBLAS threads spin.

None of it reads the course or a submission, and no student code runs here (it runs in the
sandbox only): a grading process then validates, queries and scores as it would have, only
sooner.
"""

from __future__ import annotations

import nbformat
import numpy.random  # noqa: F401  (imported here once, not by every grading process)
from nbformat.v4 import new_notebook
from nbgrader.api import Base, Course
from sqlalchemy import create_engine, inspect
from sqlalchemy.orm import Session, configure_mappers
from threadpoolctl import threadpool_limits

from grader.preprocessors import MetadataValidator


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


threadpool_limits(limits=1, user_api="blas")
warm_up()
