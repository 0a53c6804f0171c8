"""Set-up run inside the student's kernel when nbgrader's **Validate** runs the notebook (see
``c.Execute.extra_arguments`` in nbgrader_config.py).

Validate fails a test cell with any output on stderr, and Python prints warnings there. A
warning (a numpy overflow, a deprecation) is not a failed test, and grading never counts it
(test cells run in the grader: grader/execute.py), so Validate's kernel prints warnings on
stdout instead: Validate and grading agree.
"""

from __future__ import annotations

import sys
import warnings
from typing import TextIO


def _show_warning_on_stdout(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """Drop-in for :func:`warnings.showwarning` that writes to stdout whatever ``file`` says."""
    sys.stdout.write(warnings.formatwarning(message, category, filename, lineno, line))


def warnings_to_stdout() -> None:
    """Make every warning shown in this process go to stdout instead of stderr."""
    warnings.showwarning = _show_warning_on_stdout
