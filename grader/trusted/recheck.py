"""Run a submission once in the sandbox and its autograded tests out of the student's reach.

:func:`run_submission` runs the submission's cells in the sandbox child (keeping their outputs)
and, for each test cell of the *source* notebook, runs the test's code in this process, in a
namespace where the setup cells' names (run here, from the source) come first, then the
names earlier test cells defined, then Python's builtins, then proxies of the student's globals
from the sandbox child. A test passes iff its code runs to the end without an exception and no
tripwire fired; it then scores its points, else 0. There is no partial credit.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import CodeType
from typing import Any

from nbformat import NotebookNode

from chainrule import hidden
from grader import phases
from grader.cells import to_python
from grader.limits import Limits
from grader.secret import Seeds
from grader.trusted.notebook import (
    PlannedCell,
    SourceNotebook,
    SubmissionError,
    TestCell,
    plan,
    read_source,
    read_submission,
)
from grader.trusted.protocol import RemoteError
from grader.trusted.proxy import Sandbox, SandboxError, SandboxFailure
from grader.trusted.scan import StudentCode, names_used, parse
from grader.trusted.tripwire import DEFAULT_FORBIDDEN, resolve

_BUILTIN_NAMES = frozenset(dir(builtins))
_MAX_MESSAGE = 4000


@dataclass(frozen=True)
class TestVerdict:
    """The trusted result of one test cell: ``points`` is ``max_points`` or 0."""

    points: float
    max_points: float
    passed: bool
    message: str
    """Why the test failed ('' when it passed), written for the student."""


class _GraderShell:
    """``get_ipython()`` for trusted cells run in the grader: line magics do nothing."""

    def run_line_magic(self, name: str, line: str, _stack_depth: int = 1) -> None:
        """Ignore ``%matplotlib inline`` and the like."""

    def run_cell_magic(self, name: str, line: str, cell: str) -> None:
        raise NotImplementedError(f"the cell magic %%{name} cannot run in the trusted re-check")


def _execute(code: CodeType, namespace: dict[str, Any]) -> str:
    """Run trusted code with its output swallowed; '' or the error, as a student reads it."""
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            exec(code, namespace)
    except (SandboxFailure, RemoteError) as error:
        return str(error)
    except Exception as error:
        text = str(error)
        return f"{type(error).__name__}: {text}" if text else f"{type(error).__name__} (no message)"
    return ""


def _setup_namespace(source: SourceNotebook) -> dict[str, Any]:
    """The names the setup cells define, run in the grader from the source's text."""
    shell = _GraderShell()
    namespace: dict[str, Any] = {"__name__": "__main__", "get_ipython": lambda: shell}
    for grade_id, text in source.setup:
        error = _execute(compile(to_python(text), f"<setup {grade_id}>", "exec"), namespace)
        if error:
            raise RuntimeError(f"setup cell {grade_id!r} fails in the grader: {error}")
    return namespace


class _Run:
    """The re-check of one submission: the sandbox, the trusted names, the clock."""

    def __init__(
        self,
        tests: tuple[TestCell, ...],
        sandbox: Sandbox,
        planned: list[PlannedCell],
        trusted: dict[str, Any],
        limits: Limits,
        deadline: float,
        seeds: Seeds | None = None,
    ) -> None:
        self.sandbox = sandbox
        self.seeds = seeds
        self.planned = planned
        self.trusted = trusted
        self.limits = limits
        self.deadline = deadline
        self.code = StudentCode(
            [cell.source for cell in planned if not cell.trusted],
            [cell.source for cell in planned if cell.trusted],
        )
        self.used: dict[str, set[str]] = {}
        """The names each test cell mentions."""
        for test in tests:
            tree = parse(test.source)
            if tree is None:
                raise ValueError(f"test cell {test.grade_id!r} is not valid Python")
            self.used[test.grade_id] = names_used(tree)

    def verdict(self, test: TestCell, message: str) -> TestVerdict:
        if not message:
            return TestVerdict(test.points, test.points, True, "")
        notes = {i: cell.note for i, cell in enumerate(self.planned) if cell.note}
        notes.update(self.sandbox.cell_notes)
        lines = [f"{self.planned[i].label}: {note}" for i, note in sorted(notes.items())]
        if lines:
            message += "\n\nProblems while your notebook's cells ran:\n" + "\n".join(lines)
        return TestVerdict(0.0, test.points, False, message[:_MAX_MESSAGE])

    def test(self, index: int, test: TestCell) -> TestVerdict:
        """Run test ``index`` against the sandbox, and remember the names it defines."""
        used = self.used[test.grade_id]
        findings = self.code.findings(used, [*DEFAULT_FORBIDDEN, *test.forbid])
        if findings:
            return self.verdict(test, findings[0])
        if time.monotonic() >= self.deadline:
            limit = self.limits.timeout
            return self.verdict(
                test, f"the time limit for the whole notebook ({limit:g} s) ran out"
            )
        try:
            self.sandbox.begin_test(index, self.limits.cell_seconds, inplace=test.inplace)
            wanted = sorted(used - self.trusted.keys() - _BUILTIN_NAMES)
            student = self.sandbox.get(wanted) if wanted else {}
        except SandboxError:
            raise
        except Exception as error:  # a lost child, or an error the child reported
            return self.verdict(test, str(error) or type(error).__name__)
        namespace = {**student, **self.trusted}
        code = compile(to_python(test.source), f"<test {test.grade_id}>", "exec")
        if self.seeds is None:
            error = _execute(code, namespace)
        else:
            with hidden.seeded(self.seeds.for_test(test.grade_id)):
                error = _execute(code, namespace)
        for name, value in namespace.items():
            if name not in student or value is not student[name]:
                self.trusted[name] = value
        return self.verdict(test, self.sandbox.end_test() or error)


@dataclass(frozen=True)
class TrustedRun:
    """What one trusted run of a submission found."""

    verdicts: dict[str, TestVerdict]
    """{grade_id: verdict} of every test cell of the source, in its order."""
    outputs: dict[int, list[NotebookNode]]
    """The outputs of the submission's cells that ran, by position in the submission."""


def run_submission(
    cells: list[NotebookNode],
    source_path: str | Path,
    files: Path | None = None,
    *,
    limits: Limits | None = None,
    isolated: bool = True,
    seeds: Seeds | None = None,
) -> TrustedRun:
    """Run a submission's ``cells`` in the sandbox and the tests of ``source_path`` here.

    ``source_path`` is the instructor's notebook (from ``solutions/``; its test cells, setup
    cells and metadata are the only ones trusted). The files of the folder ``files`` (the
    student's submission folder) are copied into the sandbox's working directory. With
    ``isolated`` the sandbox runs in bubblewrap (:mod:`grader.trusted.isolation`). Raises
    ValueError for a malformed source notebook, RuntimeError when its setup fails in the
    grader, and SandboxError when the sandbox cannot start at all. With ``seeds`` each test's
    :func:`chainrule.hidden.hidden_rng` draws the same inputs every time this submission is
    graded; without, unseeded ones.
    """
    limits = limits or Limits()
    deadline = time.monotonic() + limits.timeout
    source = read_source(source_path)
    for test in source.tests:
        for name in test.forbid:
            resolve(name)
    planned = plan(source, cells)
    with phases.timed("setup in grader"):
        trusted = _setup_namespace(source)
    with tempfile.TemporaryDirectory(prefix="chainrule-sandbox-") as tmp:
        workdir, home = Path(tmp) / "work", Path(tmp) / "home"
        home.mkdir()
        if files is not None:
            shutil.copytree(files, workdir, symlinks=True)
        else:
            workdir.mkdir()
        sandbox = Sandbox(
            workdir,
            home,
            [cell.source for cell in planned],
            [t.forbid for t in source.tests],
            limits,
            deadline,
            isolated=isolated,
        )
        try:
            run = _Run(source.tests, sandbox, planned, trusted, limits, deadline, seeds)
            with phases.timed("tests", "sandbox start", "student cells"):
                verdicts = {t.grade_id: run.test(i, t) for i, t in enumerate(source.tests)}
            if not source.tests:
                sandbox.ensure_started()
        finally:
            sandbox.close()
    outputs = {
        planned[i].index: found
        for i, found in sandbox.cell_outputs.items()
        if planned[i].index is not None
    }
    return TrustedRun(verdicts, outputs)


def recheck(
    submission_path: str | Path,
    source_path: str | Path,
    *,
    limits: Limits | None = None,
    isolated: bool = True,
    seeds: Seeds | None = None,
) -> dict[str, TestVerdict]:
    """The trusted verdict of every autograded test cell of ``source_path`` for the notebook
    file ``submission_path`` (:func:`run_submission` on its cells, with its folder, within
    ``limits``; ``seeds`` seed the hidden inputs). A submission that is not a notebook scores 0
    on every test.
    """
    try:
        cells = read_submission(submission_path)
    except SubmissionError as error:
        message = f"your notebook could not be read as a Jupyter notebook: {error}"
        return {
            test.grade_id: TestVerdict(0.0, test.points, False, message)
            for test in read_source(source_path).tests
        }
    with tempfile.TemporaryDirectory(prefix="chainrule-submission-") as folder:
        shutil.copyfile(submission_path, Path(folder) / Path(submission_path).name)
        run = run_submission(
            cells, source_path, Path(folder), limits=limits, isolated=isolated, seeds=seeds
        )
    return run.verdicts
