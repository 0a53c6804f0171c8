"""nbgrader configuration: the repository itself is the nbgrader course directory.

`solutions/` holds the source notebooks (instructor), `lectures/` the release notebooks (students).
Run every `nbgrader` command from the repository root; `python -m grader` drives the same pipeline.
"""

import os

c = get_config()  # noqa: F821  (provided by traitlets when nbgrader loads this file)

# The course root is the directory of this file, not the current directory, so a copy of the
# course (e.g. the temporary one `python -m grader check` grades in) is self-contained.
ROOT = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.root = ROOT
c.CourseDirectory.course_id = "chainrule"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "lectures"

# Gradebook: SQLite file next to this config (git-ignored). Any SQLAlchemy URL works instead,
# e.g. PostgreSQL for several instructors: set CHAINRULE_DB_URL, or pass `--db=URL` to nbgrader
# (`--db-url URL` to `python -m grader`).
c.CourseDirectory.db_url = os.environ.get(
    "CHAINRULE_DB_URL", "sqlite:///" + os.path.join(ROOT, "gradebook.db")
)

ASSIGNMENTS = [
    "01_derivatives",
    "02_gradient_descent",
    "03_softmax",
    "04_backprop",
    "05_regularization",
    "06_initialization",
]
c.CourseDirectory.db_assignments = [{"name": name} for name in ASSIGNMENTS]

# Autograding.
# Per-cell time limit. Every cell of the course runs in a few seconds on a laptop; 60 s leaves
# room for a slow grading machine while an infinite loop in one exercise costs one minute and that
# exercise's points (the kernel is interrupted and grading goes on), not the whole submission.
c.Execute.timeout = 60
# nbgrader scores a test cell that writes to stderr as 0. Warnings (numpy overflow, deprecations)
# are not failures, so the grading kernel prints them to stdout instead (see grader/kernel_setup.py).
c.Execute.extra_arguments = [
    "--IPKernelApp.exec_lines=__import__('grader.kernel_setup').kernel_setup.warnings_to_stdout()"
]
# A student who deletes a test cell gets it back (and graded) instead of "needs manual grading".
c.OverwriteCells.add_missing_cells = True

# Feedback: nbgrader shows the hidden tests in the feedback HTML (jupyter/nbgrader#917, #1363).
# Ours removes them and shortens each failed test's traceback to its error message, which the
# hidden tests write for the student (a traceback would print the hidden test's source lines).
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbgrader.preprocessors.ClearHiddenTests",
    "grader.feedback_filters.ShortenTestTracebacks",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
