"""The nbgrader course directory: its configuration, folders and nbgrader's API over it."""

from __future__ import annotations

import functools
import glob
import math
import os
import sqlite3
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbgrader
import nbgrader.api
import sqlalchemy
from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI
from nbgrader.apps.baseapp import NbGrader
from nbgrader.coursedir import CourseDirectory
from nbgrader.utils import capture_log
from sqlalchemy.engine import Engine, make_url
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from grader.limits import Limits

CONFIG_FILE = "nbgrader_config.py"


class GraderError(RuntimeError):
    """A grading step failed; the message says which one and why."""


def _put_interpreter_bin_on_path() -> None:
    """Let nbgrader find the ``alembic`` executable installed next to this Python.

    nbgrader runs ``alembic`` by name when it creates a gradebook, so a venv used without being
    activated (``.venv/bin/python -m grader``) would fail with FileNotFoundError.
    """
    bin_dir = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    if bin_dir not in path.split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([bin_dir, path]) if path else bin_dir


def with_driver(db_url: str) -> str:
    """``db_url`` naming psycopg2 when it names PostgreSQL without a driver.

    SQLAlchemy 2.1 reads a bare ``postgresql://`` as psycopg 3; the course installs psycopg2
    (requirements.txt). A URL that names its driver is returned unchanged.
    """
    url = make_url(db_url)
    if url.drivername != "postgresql":
        return db_url
    return url.set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)


@functools.cache
def alembic_head() -> str:
    """The newest revision of nbgrader's gradebook schema, read by alembic in this process."""
    from alembic.script import ScriptDirectory  # only where a gradebook is made

    return str(ScriptDirectory(str(Path(nbgrader.__file__).parent / "alembic")).get_current_head())


@contextmanager
def shared_gradebook_engines() -> Iterator[None]:
    """While the block runs, nbgrader's ``Gradebook`` reuses one SQLAlchemy engine per database
    URL (and options) in this process; on exit nbgrader's own ``create_engine`` is back and the
    engines are disposed of.

    nbgrader opens a new engine for each ``Gradebook``, and each engine compiles every query
    again (its dialect is part of the compiled-query cache's key): about ten engines for each
    submission a grading process grades, and three for each result the coordinator saves, a
    tenth of their CPU. ``Gradebook.close`` still disposes of the engine's connections; the
    next ``Gradebook`` reconnects. No engine may cross a fork: a process forked in the block
    (rather than started with exec, as a subprocess is) must not open a ``Gradebook``.
    """
    engines: dict[tuple[str, tuple], Engine] = {}
    lock = threading.Lock()
    own = nbgrader.api.create_engine

    def create_engine(url: str, **options: object) -> Engine:
        key = (str(url), tuple(sorted(options.items())))
        with lock:
            if key not in engines:
                engines[key] = sqlalchemy.create_engine(url, **options)
            return engines[key]

    nbgrader.api.create_engine = create_engine
    try:
        yield
    finally:
        nbgrader.api.create_engine = own
        for engine in engines.values():
            engine.dispose()


def version_new_gradebook(db_url: str) -> None:
    """Give a new SQLite gradebook the ``alembic_version`` table nbgrader's ``Gradebook`` gives
    a new database, holding :func:`alembic_head`. nbgrader finds it by running the ``alembic``
    command, which imports nbgrader again (several CPU-seconds); it then makes its tables in the
    versioned file as usual. Other databases, and a file that exists, are left to nbgrader."""
    url = make_url(db_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return
    path = Path(url.database)
    if path.exists() or not path.parent.is_dir():
        return
    with sqlite3.connect(path) as database:
        database.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        database.execute("INSERT INTO alembic_version (version_num) VALUES (?)", (alembic_head(),))
    database.close()


@dataclass(frozen=True)
class Course:
    """An nbgrader course directory holding ``nbgrader_config.py``.

    ``db_url`` overrides the gradebook URL of the configuration when given; ``limits`` the
    grading limits (a set ``cell_timeout`` becomes nbgrader's ``Execute.timeout``, ``timeout``,
    ``memory`` and ``isolation`` the options of :class:`grader.execute.TrustedExecute`).
    """

    root: Path
    db_url: str | None = None
    limits: Limits | None = None

    def __post_init__(self) -> None:
        root = Path(self.root).resolve()
        if not (root / CONFIG_FILE).is_file():
            raise GraderError(
                f"course root {root} has no {CONFIG_FILE}: pass --course DIR, the directory of "
                "the course's nbgrader configuration (the repository root)"
            )
        object.__setattr__(self, "root", root)
        _put_interpreter_bin_on_path()

    def config(self) -> Config:
        """nbgrader's configuration of this course, with the overrides of this object."""
        config = PyFileConfigLoader(CONFIG_FILE, path=str(self.root)).load_config()
        config.CourseDirectory.root = str(self.root)
        if self.db_url is not None:
            config.CourseDirectory.db_url = self.db_url
        if "db_url" in config.CourseDirectory:
            config.CourseDirectory.db_url = with_driver(config.CourseDirectory.db_url)
        if self.limits is not None:
            if self.limits.cell_timeout is not None:
                config.Execute.timeout = math.ceil(self.limits.cell_timeout)
            config.TrustedExecute.total_timeout = self.limits.timeout
            config.TrustedExecute.memory_limit = self.limits.memory
            config.TrustedExecute.isolation = self.limits.isolation
        return config

    def coursedir(self) -> CourseDirectory:
        """The configured :class:`nbgrader.coursedir.CourseDirectory`."""
        return CourseDirectory(config=self.config())

    def api(self) -> NbGraderAPI:
        """nbgrader's high-level API over this course (a new SQLite gradebook versioned first:
        :func:`version_new_gradebook`)."""
        config = self.config()
        version_new_gradebook(CourseDirectory(config=config).db_url)
        return NbGraderAPI(config=config)

    @property
    def resolved_db_url(self) -> str:
        """The gradebook URL nbgrader uses (configuration or override)."""
        return self.coursedir().db_url

    @contextmanager
    def gradebook(self) -> Iterator[Gradebook]:
        """Open the gradebook (closed on exit; a new SQLite one versioned first:
        :func:`version_new_gradebook`)."""
        coursedir = self.coursedir()
        version_new_gradebook(coursedir.db_url)
        with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
            yield gradebook

    def directory(self, step: str) -> Path:
        """Absolute path of an nbgrader step folder: ``source``, ``release``, ``submitted``,
        ``autograded`` or ``feedback``."""
        coursedir = self.coursedir()
        name = getattr(coursedir, f"{step}_directory", None)
        if not isinstance(name, str):
            raise ValueError(f"step must be an nbgrader directory name, got {step!r}")
        return self.root / name

    def files(self, folder: Path) -> dict[Path, Path]:
        """The files under ``folder`` that nbgrader does not ignore, by path relative to it.

        nbgrader's ``CourseDirectory.ignore`` as configured (``.ipynb_checkpoints``,
        ``__pycache__``, the course's own patterns) leaves out what Jupyter and Python write
        next to the notebooks; a missing folder has no files.

        The files of nbgrader's ``find_all_files(folder, ignore)``, found as it finds them: a
        path is ignored when ``glob`` of a pattern in the path's folder lists it. nbgrader lists
        the folder again for each file and pattern; here once per folder and pattern.
        """
        ignore = self.coursedir().ignore
        listed: dict[str, set[str]] = {}

        def ignored(path: str) -> bool:
            parent = os.path.dirname(path)
            if parent not in listed:
                listed[parent] = {
                    found
                    for pattern in ignore
                    for found in glob.glob(os.path.join(parent, pattern))
                }
            return path in listed[parent]

        files: list[str] = []
        skipped: set[str] = set()
        for dirname, dirnames, filenames in os.walk(str(folder)):
            if dirname in skipped or ignored(dirname):
                skipped.update(os.path.join(dirname, name) for name in dirnames)
                continue
            paths = (os.path.join(dirname, name) for name in filenames)
            files += [path for path in paths if not ignored(path)]
        return {Path(path).relative_to(folder): Path(path) for path in sorted(files)}

    def notebook_paths(self, step: str, assignment: str, student: str = ".") -> list[Path]:
        """The notebooks of ``assignment`` in ``step`` (for ``student`` in per-student steps)."""
        folder = self.directory(step) / student / assignment
        return sorted(folder.glob("*.ipynb"))

    def assignments(self, step: str = "source") -> list[str]:
        """Assignments with at least one notebook in ``step`` (source or release), by name."""
        folder = self.directory(step)
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def select(names: list[str] | None, available: list[str], what: str = "assignment") -> list[str]:
    """``names`` checked against ``available``: all of ``available`` when ``names`` is empty."""
    if not names:
        return available
    unknown = sorted(set(names) - set(available))
    if unknown:
        raise GraderError(
            f"unknown {what}(s) {', '.join(unknown)}; available: {', '.join(available) or 'none'}"
        )
    return list(dict.fromkeys(names))


def check_result(result: dict[str, Any], what: str) -> str:
    """Turn an NbGraderAPI result ``{success, error, log}`` into its log, or raise GraderError."""
    if result.get("success"):
        return str(result.get("log", ""))
    # nbgrader logs the traceback of a failed conversion itself; the error's last line says
    # what stopped the command (e.g. SystemExit from an app's fail()).
    error_lines = str(result.get("error", "")).strip().splitlines()
    details = [str(result.get("log", "")).rstrip(), *error_lines[-1:]]
    raise GraderError("\n".join([f"{what} failed:", *filter(None, details)]))


def run_app(app_class: type[NbGrader], config: Config, what: str, assignment_id: str = "") -> str:
    """Run an nbgrader application on this configuration the way NbGraderAPI runs its
    converters: log captured instead of printed, failure turned into GraderError."""
    config.Application.logging_config = {"handlers": {"console": {"level": "CRITICAL"}}}
    app = app_class(config=config)
    app.coursedir = CourseDirectory(parent=app)
    if assignment_id:
        app.coursedir.assignment_id = assignment_id
    return check_result(capture_log(app), what)
