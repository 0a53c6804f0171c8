"""Speed of the course: every solution notebook run top to bottom, and one student autograded.

- For each notebook of ``solutions/``: wall time of a full run with nbclient (kernel start
  included, as "Restart Kernel and Run All" in JupyterLab), its slowest cell, and the kernel's
  peak resident memory (read by one extra cell run in the same kernel at the end).
- Autograde of one student's whole course: the solution of every assignment submitted by one
  student in a temporary copy of the course, graded with ``python -m grader autograde`` (the
  instructor's command, process start and nbgrader import included) with 1 and 2 jobs.

Targets on a 2-core machine: each notebook < 20 s, all together < 60 s, no kernel above 1 GiB,
one student's course autograded < 30 s. Figures are printed, never asserted.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell

from benchmarks.grading import submit_solution
from grader.check import copy_course
from grader.course import Course
from grader.release import release

ROOT = Path(__file__).resolve().parents[1]
STUDENT = "student"
TARGET_NOTEBOOK_S = 20.0
TARGET_ALL_S = 60.0
TARGET_KERNEL_MIB = 1024.0
TARGET_COURSE_AUTOGRADE_S = 30.0
#: Printed by the extra cell: the kernel's peak resident set size in KiB. Linux's VmHWM counts
#: from the kernel's own exec; ``ru_maxrss`` would start at the RSS of the process that forked
#: it (this benchmark, after the other suites).
PEAK_MEMORY_PROBE = """\
import pathlib, resource
status = pathlib.Path("/proc/self/status")
if status.exists():
    lines = status.read_text().splitlines()
    print(next(line.split()[1] for line in lines if line.startswith("VmHWM")))
else:
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


@dataclass(frozen=True)
class NotebookRun:
    """One full run of a notebook: ``seconds`` of wall time, the slowest cell (its label and
    seconds) and the kernel's peak resident memory in MiB."""

    name: str
    cells: int
    seconds: float
    slowest_cell: str
    slowest_seconds: float
    peak_mib: float


def _label(cell: nbformat.NotebookNode, index: int) -> str:
    """A cell's nbgrader grade_id, or its index and first line."""
    grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
    first_line = (cell.source.strip().splitlines() or [""])[0]
    return grade_id or f"#{index} {first_line[:30]}"


def run_notebook(path: Path) -> NotebookRun:
    """Execute the notebook at ``path`` (in its folder) and measure it; errors raise."""
    notebook = nbformat.read(path, as_version=4)
    cells = len(notebook.cells)
    notebook.cells.append(new_code_cell(PEAK_MEMORY_PROBE))
    started: dict[int, float] = {}
    seconds: dict[int, float] = {}

    def on_cell_execute(cell: nbformat.NotebookNode, cell_index: int) -> None:
        started[cell_index] = time.perf_counter()

    def on_cell_executed(cell: nbformat.NotebookNode, cell_index: int, **_: object) -> None:
        seconds[cell_index] = time.perf_counter() - started[cell_index]

    client = NotebookClient(
        notebook,
        timeout=600,
        resources={"metadata": {"path": str(path.parent)}},
        on_cell_execute=on_cell_execute,
        on_cell_executed=on_cell_executed,
    )
    start = time.perf_counter()
    client.execute()
    wall = time.perf_counter() - start
    probe = notebook.cells.pop()
    peak_kib = float("".join(o.get("text", "") for o in probe.outputs).strip())
    slowest = max((i for i in seconds if i < cells), key=seconds.__getitem__)
    return NotebookRun(
        path.stem,
        cells,
        wall,
        _label(notebook.cells[slowest], slowest),
        seconds[slowest],
        peak_kib / 1024,
    )


def autograde_course(jobs: int) -> tuple[float, str]:
    """Seconds for ``python -m grader autograde`` to grade one student's solution of every
    assignment, in a temporary copy of the course, and the command's summary line."""
    with tempfile.TemporaryDirectory(prefix="notebooks-bench-") as tmp:
        copy = copy_course(Course(ROOT), Path(tmp))
        release(copy)
        for assignment in copy.assignments():
            submit_solution(copy, [STUDENT], assignment)
        command = [sys.executable, "-m", "grader", "--course", tmp, "--db-url", str(copy.db_url)]
        command += ["autograde", "--student", STUDENT, "--jobs", str(jobs), "--quiet"]
        start = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True)
        seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")
    return seconds, result.stdout.strip().splitlines()[-1]


def _met(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def run() -> None:
    """Print one row per solution notebook, the totals, and the course autograde times."""
    course = Course(ROOT)
    paths = [p for name in course.assignments() for p in course.notebook_paths("source", name)]
    if not paths:
        print(f"skipped: no notebook in {course.directory('source')}")
        return
    header = (
        f"{'notebook':<22}{'cells':>6}{'wall s':>8}{'peak MiB':>10}  {'slowest cell':<34}"
        f"{'s':>6}  target (< {TARGET_NOTEBOOK_S:g} s, < {TARGET_KERNEL_MIB:g} MiB)"
    )
    print(header)
    print("-" * len(header))
    runs = []
    for path in paths:
        run_ = run_notebook(path)
        runs.append(run_)
        ok = run_.seconds < TARGET_NOTEBOOK_S and run_.peak_mib < TARGET_KERNEL_MIB
        print(
            f"{run_.name:<22}{run_.cells:>6}{run_.seconds:>8.1f}{run_.peak_mib:>10.0f}  "
            f"{run_.slowest_cell:<34}{run_.slowest_seconds:>6.1f}  {_met(ok)}"
        )
    total = sum(r.seconds for r in runs)
    peak = max(r.peak_mib for r in runs)
    print("-" * len(header))
    print(
        f"{f'all {len(runs)}':<22}{sum(r.cells for r in runs):>6}{total:>8.1f}{peak:>10.0f}  "
        f"{'':<40}  {_met(total < TARGET_ALL_S and peak < TARGET_KERNEL_MIB)} "
        f"(< {TARGET_ALL_S:g} s in all)"
    )
    print()
    print(f"autograde one student's course ({len(runs)} notebooks), python -m grader autograde:")
    for jobs in (1, 2):
        seconds, summary = autograde_course(jobs)
        print(
            f"  --jobs {jobs}: {seconds:5.1f} s  {_met(seconds < TARGET_COURSE_AUTOGRADE_S)} "
            f"(< {TARGET_COURSE_AUTOGRADE_S:g} s)   [{summary}]"
        )
