"""nbgrader configuration: the repository itself is the nbgrader course directory.

`solutions/` holds the source notebooks (instructor), `lectures/` the release notebooks (students).
Run every `nbgrader` command from the repository root; `python -m grader` drives the same pipeline.
"""

import os

from nbgrader.converters import Autograde, GenerateAssignment, GenerateFeedback
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import CheckCellMetadata, DeduplicateIds, Execute, LimitOutput

from grader.secret import SECRET_FILE, grading_secret

c = get_config()  # noqa: F821  (provided by traitlets when nbgrader loads this file)

# The course root is the directory of this file, not the current directory, so a copy of the
# course (e.g. the temporary one `python -m grader check` grades in) is self-contained.
ROOT = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.root = ROOT
c.CourseDirectory.course_id = "chainrule"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "lectures"
# Never copy tool artefacts from solutions/ into the release (or into a grading folder), nor
# the grader's record of a graded submission (grader/submissions.py) into the feedback.
c.CourseDirectory.ignore = CourseDirectory.class_traits()["ignore"].default() + [
    ".nbgrader.log",
    "*.db",
    "*.db-journal",
    ".chainrule-graded.json",
    SECRET_FILE,
]

# Gradebook: SQLite file next to this config (git-ignored). Any SQLAlchemy URL works instead,
# e.g. PostgreSQL for several instructors: set CHAINRULE_DB_URL, or pass `--db=URL` to nbgrader
# (`--db-url URL` to `python -m grader`).
c.CourseDirectory.db_url = os.environ.get(
    "CHAINRULE_DB_URL", "sqlite:///" + os.path.join(ROOT, "gradebook.db")
)

# Autograding.
# Per-cell time limit: one cell of the student's code in the sandbox, and one test. Every cell of
# the course runs in a few seconds on a laptop; 60 s leaves room for a slow grading machine while
# an infinite loop in one exercise costs one minute and that exercise's points, not the whole
# submission. (TrustedExecute inherits Execute's configuration.)
c.Execute.timeout = 60
# Validate (the students' button) runs the notebook in a kernel with nbgrader's Execute, and
# fails a test cell that writes to stderr. Warnings are not failures (grading never counts them),
# so that kernel prints them to stdout instead (grader/kernel_setup.py).
c.Execute.extra_arguments = [
    "--IPKernelApp.exec_lines=__import__('grader.kernel_setup').kernel_setup.warnings_to_stdout()"
]
# A student who deletes a test cell gets it back (and graded) instead of "needs manual grading".
c.OverwriteCells.add_missing_cells = True
# nbgrader's CheckCellMetadata (sanitizing and autograding) builds a JSON schema validator for
# every cell; grader/preprocessors.py's is the same check with one validator per process.
_CHECK_METADATA = "grader.preprocessors.CheckCellMetadata"
# A renamed or duplicated grade_id makes nbgrader's OverwriteCells fail when it restores missing
# cells: such cells become plain cells of the student's first. Then every cell of the release
# the student deleted is put back in its place (nbgrader's add_missing_cells fails when an
# answer was deleted with its test, and the whole notebook would score 0); see
# grader/preprocessors.py.
_sanitize_steps = [
    _CHECK_METADATA if step is CheckCellMetadata else step
    for step in Autograde.class_traits()["sanitize_preprocessors"].default()
]
c.Autograde.sanitize_preprocessors = (
    _sanitize_steps[: _sanitize_steps.index(DeduplicateIds) + 1]
    + ["grader.preprocessors.ForgetUnknownCells", "grader.preprocessors.RestoreDeletedCells"]
    + _sanitize_steps[_sanitize_steps.index(DeduplicateIds) + 1 :]
)
# The student's code runs once, in the sandbox (bubblewrap: it sees the Python runtime and a
# copy of the submission, nothing of the course), and each test runs from solutions/ in the
# grading process: TrustedExecute replaces nbgrader's Execute (grader/execute.py), for
# `nbgrader autograde`, formgrader and `python -m grader autograde` alike. Where bubblewrap
# cannot run, `--TrustedExecute.isolation=False` (`python -m grader autograde --no-isolation`)
# runs the sandbox without it, and says so.
# nbgrader's LimitOutput counts lines only: one line of 100 MB would reach the autograded
# notebook and the feedback whole. Cut every cell's output to 100,000 characters as well.
_autograde_steps = [
    {Execute: "grader.execute.TrustedExecute", CheckCellMetadata: _CHECK_METADATA}.get(step, step)
    for step in Autograde.class_traits()["autograde_preprocessors"].default()
]
_autograde_steps.insert(
    _autograde_steps.index(LimitOutput) + 1, "grader.preprocessors.LimitOutputSize"
)
c.Autograde.autograde_preprocessors = _autograde_steps
# Hidden inputs: each hidden test's `hidden_rng()` is seeded from this secret, the student, the
# assignment, the notebook and the test (grader/secret.py), so a regrade gives the same scores
# and two students different inputs. It comes from $CHAINRULE_GRADING_SECRET or the git-ignored
# file .grading-secret next to this file (`python -m grader autograde` creates it on first
# use); it is never released. Keep it to regrade reproducibly; without it, inputs are unseeded.
c.TrustedExecute.seed_secret = grading_secret(ROOT)

# Release: nbgrader's pipeline, then notebook and cell metadata reduced to what students need
# (editor state such as widget state or execution timestamps saved with a solution notebook is
# not part of the exercise), so `lectures/` changes only when the exercises do.
c.GenerateAssignment.preprocessors = GenerateAssignment.class_traits()[
    "preprocessors"
].default() + ["grader.preprocessors.NormalizeMetadata"]

# Feedback: nbgrader shows the hidden tests in the feedback HTML (jupyter/nbgrader#917, #1363).
# Ours removes them (nbgrader's ClearHiddenTests, grader/preprocessors.py's SafeFeedback).
c.GenerateFeedback.preprocessors = GenerateFeedback.class_traits()["preprocessors"].default() + [
    "grader.preprocessors.SafeFeedback"
]
