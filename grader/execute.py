"""``TrustedExecute``: nbgrader's autograde step that runs a submission, in place of ``Execute``.

nbgrader's own ``Execute`` runs the whole notebook, test cells included, in a kernel where the
student's code can replace whatever the tests rely on, read the course and touch the grading
run. This step runs the student's code once, in the sandbox only (:mod:`grader.trusted`: a
bubblewrap namespace that sees the Python runtime and a copy of the submission folder, nothing
of the course), and each test cell's code *from* ``solutions/`` in this process, with the
student's objects as proxies. It then writes into the notebook what nbgrader expects of an
executed notebook:

* each student cell that ran gets the outputs it produced in the sandbox (text, figures,
  errors), for manual grading and for the feedback;
* each test cell gets no output when the test passed (nbgrader's ``SaveAutoGrades`` then gives
  full points) or one error output with the message for the student when it failed (0 points).

So ``nbgrader autograde``, formgrader's Autograde button and ``python -m grader autograde`` all
decide scores the same way. ``nbgrader_config.py`` puts this step where ``Execute`` was.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nbformat import NotebookNode
from nbformat.v4 import new_output
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute
from traitlets import Bool, Dict, Float, Integer, Unicode

from grader.cells import CellKind, grade_id_of, kind_of
from grader.limits import Limits
from grader.secret import GivenSeeds, HiddenSeeds, Seeds
from grader.trusted import isolation
from grader.trusted.recheck import TestVerdict, run_submission


class CourseError(RuntimeError):
    """The course, not the submission, keeps a notebook from being graded (no source notebook,
    a test of the gradebook that ``solutions/`` lacks): the submission is not graded."""


#: ``ename`` of the error output that says why a test failed.
FAILED_TEST = "TestFailed"


def failure_output(message: str) -> NotebookNode:
    """The error output of a failed test cell: ``message``, for the student."""
    return new_output(
        "error", ename=FAILED_TEST, evalue=message, traceback=[f"{FAILED_TEST}: {message}"]
    )


class TrustedExecute(Execute):
    """Autograde step: run the student's cells in the sandbox and the tests from ``solutions/``.

    It inherits ``Execute``'s configuration, so ``c.Execute.timeout`` is the time limit of one
    notebook cell in the sandbox and of one test; nothing else of ``Execute`` is used (no
    kernel starts).
    """

    isolation = Bool(
        True,
        help="Run the student's code in bubblewrap (grader/trusted/isolation.py). False only "
        "where bubblewrap cannot run: the student's code can then read the course.",
    ).tag(config=True)
    total_timeout = Float(
        Limits.timeout, help="Seconds for one notebook, every test included."
    ).tag(config=True)
    memory_limit = Integer(
        Limits.memory, help="Bytes of address space of the sandbox (RLIMIT_AS)."
    ).tag(config=True)
    seed_secret = Unicode(
        "",
        help="The course's grading secret (grader/secret.py; nbgrader_config.py reads it from "
        "$CHAINRULE_GRADING_SECRET or .grading-secret). Each hidden test's generator is seeded "
        "from it, the student, the assignment, the notebook and the test, so a regrade draws "
        "the same hidden inputs. Empty: unseeded, and regrades may differ.",
    ).tag(config=True)
    hidden_seeds = Dict(
        {},
        help="The seeds of the hidden tests, notebook -> grade id -> 64 hexadecimal digits, as "
        "`python -m grader autograde` computes them from the secret (grader/secret.py's "
        "submission_seeds) for the grading process, which then needs no secret. A notebook "
        "named here takes its seeds from here, not from seed_secret.",
    ).tag(config=True)

    def limits(self) -> Limits:
        """The limits of this step's configuration (``timeout``: one cell and one test)."""
        return Limits(
            timeout=float(self.total_timeout),
            cell_timeout=float(self.timeout) if self.timeout else None,
            memory=int(self.memory_limit),
        )

    def preprocess(
        self, nb: NotebookNode, resources: dict[str, Any]
    ) -> tuple[NotebookNode, dict[str, Any]]:
        """Run the notebook the trusted way and write its outputs and verdicts into ``nb``."""
        ids = resources["nbgrader"]
        coursedir = CourseDirectory(config=self.config)
        source = Path(coursedir.format_path(coursedir.source_directory, ".", ids["assignment"]))
        source /= ids["notebook"] + ".ipynb"
        if not source.is_file():
            raise CourseError(f"the tests run from the source notebook {source}, which is missing")
        submitted = Path(
            coursedir.format_path(coursedir.submitted_directory, ids["student"], ids["assignment"])
        )
        if self.isolation:
            isolation.check_available()
        else:
            self.log.warning("isolation is off: the student's code can read the course")
        seeds: Seeds | None = None
        if ids["notebook"] in self.hidden_seeds:
            seeds = GivenSeeds(self.hidden_seeds[ids["notebook"]])
        elif self.seed_secret:
            seeds = HiddenSeeds(
                self.seed_secret, ids["student"], ids["assignment"], ids["notebook"]
            )
        else:
            self.log.warning(
                "no TrustedExecute.seed_secret: hidden inputs are unseeded, a regrade may differ"
            )
        run = run_submission(
            nb.cells,
            source,
            submitted if submitted.is_dir() else None,
            limits=self.limits(),
            isolated=self.isolation,
            seeds=seeds,
        )
        self._write(nb, run.outputs, run.verdicts)
        return nb, resources

    @staticmethod
    def _write(
        nb: NotebookNode,
        outputs: dict[int, list[NotebookNode]],
        verdicts: dict[str, TestVerdict],
    ) -> None:
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            cell.execution_count = None
            if kind_of(cell) is CellKind.TEST:
                verdict = verdicts.get(grade_id_of(cell) or "")
                if verdict is None:
                    raise CourseError(
                        f"test cell {grade_id_of(cell)!r} is not in solutions/: release the "
                        "assignment again"
                    )
                cell.outputs = [] if verdict.passed else [failure_output(verdict.message)]
            else:
                cell.outputs = outputs.get(index, [])
