"""nbgrader configuration of the student edition: what the **Validate** button needs, no more.

There is no source folder, no gradebook and no exchange here: Validate (and `nbgrader validate
NOTEBOOK`) runs a notebook top to bottom and reports the visible tests that fail. Grading happens
on the instructor's machine, with tests you do not see.
"""

import os

c = get_config()  # noqa: F821  (provided by traitlets when nbgrader loads this file)

ROOT = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.course_id = "chainrule"
# The time a cell may run, as at grading.
c.Execute.timeout = 60
# Validate fails a test cell that writes to stderr, where Python prints warnings; grading never
# counts a warning. So Validate's kernel prints warnings to stdout (nbgrader_kernel_setup.py,
# run by path: it needs no install and leaves no name in the notebook).
_SETUP = os.path.join(ROOT, "nbgrader_kernel_setup.py")
c.Execute.extra_arguments = [
    f"--IPKernelApp.exec_lines=__import__('runpy').run_path({_SETUP!r})['warnings_to_stdout']()"
]
