"""nbgrader configuration: the repository itself is the nbgrader course directory.

`solutions/` holds the source notebooks (instructor), `lectures/` the release notebooks (students).
Run every `nbgrader` command from the repository root; `python -m grader` drives the same pipeline.
"""

import os

from nbgrader.converters import GenerateAssignment, GenerateFeedback
from nbgrader.coursedir import CourseDirectory

c = get_config()  # noqa: F821  (provided by traitlets when nbgrader loads this file)

# The course root is the directory of this file, not the current directory, so a copy of the
# course (e.g. the temporary one `python -m grader check` grades in) is self-contained.
ROOT = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.root = ROOT
c.CourseDirectory.course_id = "chainrule"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "lectures"
# Never copy tool artefacts from solutions/ into the release (or into a grading folder).
c.CourseDirectory.ignore = CourseDirectory.class_traits()["ignore"].default() + [
    ".nbgrader.log",
    "*.db",
    "*.db-journal",
]

# Gradebook: SQLite file next to this config (git-ignored). Any SQLAlchemy URL works instead,
# e.g. PostgreSQL for several instructors: set CHAINRULE_DB_URL, or pass `--db=URL` to nbgrader
# (`--db-url URL` to `python -m grader`).
c.CourseDirectory.db_url = os.environ.get(
    "CHAINRULE_DB_URL", "sqlite:///" + os.path.join(ROOT, "gradebook.db")
)

# Autograding.
# Per-cell time limit. Every cell of the course runs in a few seconds on a laptop; 60 s leaves
# room for a slow grading machine while an infinite loop in one exercise costs one minute and that
# exercise's points (the kernel is interrupted and grading goes on), not the whole submission.
c.Execute.timeout = 60
# nbgrader scores a test cell that writes to stderr as 0. Warnings (numpy overflow, deprecations)
# are not failures, so the grading kernel prints them to stdout instead (grader/kernel_setup.py).
c.Execute.extra_arguments = [
    "--IPKernelApp.exec_lines=__import__('grader.kernel_setup').kernel_setup.warnings_to_stdout()"
]
# A student who deletes a test cell gets it back (and graded) instead of "needs manual grading".
c.OverwriteCells.add_missing_cells = True

# Release: nbgrader's pipeline, then notebook and cell metadata reduced to what students need
# (editor state such as widget state or execution timestamps saved with a solution notebook is
# not part of the exercise), so `lectures/` changes only when the exercises do.
c.GenerateAssignment.preprocessors = GenerateAssignment.class_traits()[
    "preprocessors"
].default() + ["grader.preprocessors.NormalizeMetadata"]

# Feedback: nbgrader shows the hidden tests in the feedback HTML (jupyter/nbgrader#917, #1363).
# Ours removes them (nbgrader's ClearHiddenTests) and shortens each failed test's traceback to
# its error message, which the hidden tests write for the student (a traceback would quote the
# hidden test's source lines).
c.GenerateFeedback.preprocessors = GenerateFeedback.class_traits()["preprocessors"].default() + [
    "grader.preprocessors.HideHiddenTests"
]
