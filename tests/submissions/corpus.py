"""The corpus of hostile and broken submissions, and the exact score each must receive.

Each :class:`Case` is built from the course's own notebooks rather than committed as JSON: a
submission starts as the release notebook (what students get) with every exercise answered by
the solution's code (``solutions/``, delimiter lines dropped), and then the case changes
answer cells, adds cells, deletes cells, changes cell types or metadata, or replaces the file's
bytes. Most cases attack ``03_softmax``, the quickest notebook to grade. To keep the suite
fast, most submissions are *small* notebooks: the markdown and demo cells deleted (the setup,
answer and test cells stay), which nbgrader and the re-check grade like any other; the cases
about the notebook's structure or files keep the whole notebook. In the other assignments only
the exercises under attack are answered (the others stay stubs and score 0).

``zero`` lists the tests that must score 0 (``None``: every test but ``passing``); every other
test must score its points. ``fooled`` lists tests that nbgrader's kernel passed and only the
trusted re-check failed. ``feedback`` is a phrase the student's feedback page must show.
tests/test_hostile_submissions.py grades the corpus with the real nbgrader and asserts it all.
"""

from __future__ import annotations

import copy
import json
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell

from grader.cells import CellKind, cells_of, grade_id_of

Build = Callable[["Notebooks"], "NotebookNode | bytes"]

#: Printed by the answer cell of the "leak-probe" case, then a JSON list of what it found.
PROBE = "LEAK-PROBE"


@dataclass(frozen=True)
class Notebooks:
    """The source and release notebooks of one assignment."""

    source: NotebookNode
    release: NotebookNode
    listening_port: int = 0
    """A port on 127.0.0.1 where the test listens while grading: in its own network namespace
    the sandbox's connection to it is refused (errno 111), never accepted."""


@dataclass(frozen=True)
class Case:
    """A hostile or broken submission and the score it must get."""

    name: str
    assignment: str
    what: str
    build: Build
    zero: tuple[str, ...] | None = ()
    """The tests that must score 0; None: every test but those in ``passing``."""
    passing: tuple[str, ...] = ()
    feedback: str = "Score"
    filename: str | None = None
    """The submitted file's name (default: the assignment's notebook)."""

    def expected(self, points: dict[str, float]) -> dict[str, float]:
        """The exact score of each test, from the tests' ``points``."""
        return {
            test: value
            if test in self.passing or not (self.zero is None or test in self.zero)
            else 0.0
            for test, value in points.items()
        }


# -- building blocks ---------------------------------------------------------------------------


def cell(notebook: NotebookNode, name: str) -> NotebookNode:
    """The cell of ``notebook`` whose nbgrader grade_id is ``name``."""
    (found,) = [c for c in notebook.cells if grade_id_of(c) == name]
    return found


def answer(notebooks: Notebooks, name: str) -> str:
    """The solution's code of exercise ``name``, without nbgrader's delimiter lines."""
    lines = cell(notebooks.source, name).source.splitlines()
    return "\n".join(
        line
        for line in lines
        if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line
    )


def answered(notebooks: Notebooks, only: tuple[str, ...] | None = None) -> NotebookNode:
    """The release notebook with the exercises ``only`` (default all) answered."""
    notebook = copy.deepcopy(notebooks.release)
    for c in cells_of(notebook.cells, CellKind.ANSWER):
        if only is None or grade_id_of(c) in only:
            c.source = answer(notebooks, grade_id_of(c) or "")
    return notebook


def small(notebooks: Notebooks, only: tuple[str, ...] | None = None) -> NotebookNode:
    """:func:`answered` without the text and the demos: only the setup cells and nbgrader's
    answer and test cells stay."""
    notebook = answered(notebooks, only)
    kept = (CellKind.SETUP, CellKind.ANSWER, CellKind.TEST, CellKind.WRITTEN_ANSWER)
    notebook.cells = cells_of(notebook.cells, *kept)
    return notebook


def with_answers(notebook: NotebookNode, **answers: str) -> NotebookNode:
    """``notebook`` with the answer cells named by the keywords given these sources."""
    for name, source in answers.items():
        cell(notebook, name).source = source
    return notebook


def insert_after(notebook: NotebookNode, name: str, source: str) -> NotebookNode:
    """``notebook`` with a code cell of the student's after the cell ``name``."""
    notebook.cells.insert(notebook.cells.index(cell(notebook, name)) + 1, new_code_cell(source))
    return notebook


def delete(notebook: NotebookNode, *names: str) -> NotebookNode:
    notebook.cells = [c for c in notebook.cells if grade_id_of(c) not in names]
    return notebook


def to_markdown(notebook: NotebookNode, *names: str) -> NotebookNode:
    for name in names:
        c = cell(notebook, name)
        c.cell_type = "markdown"
        del c["outputs"], c["execution_count"]
    return notebook


# -- the student's code ------------------------------------------------------------------------

WRONG_SOFTMAX = (
    "def softmax(A):\n    A = np.asarray(A, dtype=float)\n    return np.exp(A - A.max())\n"
)
WRONG_LOG_SOFTMAX = (
    "def log_softmax(A):\n    A = np.asarray(A, dtype=float)\n"
    "    return A - A.max(axis=1, keepdims=True)\n"
)
WRONG_CROSS_ENTROPY = (
    "def cross_entropy(probs, y):\n    probs, y = np.asarray(probs), np.asarray(y)\n"
    "    return float(-np.sum(np.log(probs[np.arange(len(y)), y])))  # the sum, not the mean\n"
)
WRONG_GRAD_WRT_PROBS = (
    "def grad_wrt_probs(probs, y):\n    probs, y = np.asarray(probs, dtype=float), np.asarray(y)\n"
    "    grad = np.zeros_like(probs)\n"
    "    grad[np.arange(len(y)), y] = -1.0 / probs[np.arange(len(y)), y]  # no 1/N\n"
    "    return grad\n"
)
WRONG_GRAD_WRT_LOGITS = (
    "def grad_wrt_logits(logits, y):\n    y = np.asarray(y)\n"
    "    grad = -F.softmax(np.asarray(logits, dtype=float))\n"
    "    grad[np.arange(len(y)), y] += 1.0  # the sign flipped\n    return grad / len(y)\n"
)
CHECKS_ALWAYS_PASS = """\
import chainrule.checks
np.allclose = lambda *args, **kwargs: True
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.broadcast(a, b).shape, dtype=bool)
np.testing.assert_allclose = lambda *args, **kwargs: None
for _name in ("check_array", "check_unchanged", "check_gradient"):
    setattr(chainrule.checks, _name, lambda *args, **kwargs: None)
"""


def test_cells_become(replacement: str) -> str:
    """A cell that makes IPython run ``replacement`` instead of every later test cell."""
    return (
        "def _instead_of_tests(lines):\n"
        "    return [" + repr(replacement + "\n") + "] if any('check_array(' in line for line in "
        "lines) else lines\n\n"
        "get_ipython().input_transformers_post.append(_instead_of_tests)\n"
    )


LEAK_PROBE = f"""\
import json, os, tempfile

# What only solutions/ or the gradebook hold, spelled so that this cell does not hold it.
_secrets = ("BEGIN " + "SOLUTION", "HIDDEN " + "TESTS")
# The working directory holds the student's own copy of this notebook, never the tests.
_own = os.path.realpath("03_softmax.ipynb")
_seen, _found = [], []
# Outside the sandbox, its folder is <grading folder>/tmp/<sandbox folder>/work and the grading
# process's copy of the course <grading folder>/course.
for _near in ("../../../solutions", "../../../course/solutions"):
    if os.path.exists(os.path.join(_near, "03_softmax", "03_softmax.ipynb")):
        _found.append(_near)
_top, _stop = os.path.realpath(os.getcwd()), os.path.realpath(tempfile.gettempdir())
for _ in range(4):  # up to the grading folder, never past the temporary directory
    if os.path.dirname(_top) in (_stop, _top):
        break
    _top = os.path.dirname(_top)
for _folder, _, _files in os.walk(_top):
    for _file in _files:
        _path = os.path.realpath(os.path.join(_folder, _file))
        _seen.append(_path)
        try:
            with open(_path, errors="replace") as _handle:
                _text = _handle.read()
        except OSError:
            continue
        _secret = _path != _own and any(_s in _text for _s in _secrets)
        if _secret or _file.endswith(".db") or "solutions" in _path:
            _found.append(_path)
print({PROBE!r}, json.dumps({{"top": _top, "seen": len(_seen), "found": _found}}))
"""


#: Runs every answer of any solutions/03_softmax/*.ipynb under the folders in ``_roots``; prints
#: how many it ran. The code before it fills ``_roots``.
STEAL = """
import json
from pathlib import Path

_ran = 0
for _root in list(_roots):
    for _path in Path(_root).glob("solutions/03_softmax/*.ipynb"):
        try:
            _cells = json.loads(_path.read_text())["cells"]
        except (OSError, ValueError):
            continue
        for _cell in _cells:
            _text = "".join(_cell["source"])
            if "BEGIN " + "SOLUTION" in _text:
                exec(_text, globals())
                _ran += 1
print("STOLE", _ran, "answers")
"""

STEAL_VIA_PROC = """import os
from pathlib import Path
_roots = []
for _pid in os.listdir("/proc"):
    if _pid.isdigit():
        try:
            _roots.append(os.readlink(f"/proc/{_pid}/cwd"))
            _env = open(f"/proc/{_pid}/environ", "rb").read().split(b"\\0")
            _roots += [v.split(b"=", 1)[1].decode() for v in _env if b"=/" in v]
        except OSError:
            pass
_roots = [p for r in _roots for p in [r, *map(str, Path(r).parents)]]
"""

#: Walks every folder from / but the Python runtime (/usr, the interpreter, the venv: tens of
#: thousands of files that hold no course, too slow to list within a cell's time limit) and the
#: kernel's /proc, /sys and /dev.
STEAL_BY_WALKING = """import os, sys
from pathlib import Path
_skip = {"/proc", "/sys", "/dev", "/usr", os.path.realpath(sys.prefix),
         os.path.realpath(sys.base_prefix)}
_roots = set()
for _folder, _dirs, _files in os.walk("/"):
    _dirs[:] = [d for d in _dirs if os.path.join(_folder, d) not in _skip]
    if "solutions" in _dirs:
        _roots.add(_folder)
"""

WRITE_GRADES = """import glob, os
from pathlib import Path
import chainrule
_roots = [str(Path(chainrule.__file__).parents[1]), "/tmp"]
for _pid in os.listdir("/proc"):
    if _pid.isdigit():
        try:
            _roots.append(os.readlink(f"/proc/{_pid}/cwd"))
        except OSError:
            pass
_wrote = 0
for _root in _roots:
    for _pattern in ("**/gradebook.db", "**/.chainrule-graded.json"):
        for _path in glob.glob(os.path.join(_root, _pattern), recursive=True):
            try:
                with open(_path, "w") as _handle:
                    _handle.write("overwritten")
                _wrote += 1
            except OSError:
                pass
print("WROTE", _wrote, "files")
"""


def steal_case(name: str, what: str, find_roots: str) -> Case:
    """A blank 03 submission whose first cell runs the answers it finds from the folders the code
    ``find_roots`` puts in ``_roots``: it must find none (every test 0, "STOLE 0 answers")."""
    return Case(
        name,
        "03_softmax",
        what,
        lambda n: insert_after(small(n, only=()), "setup", find_roots + STEAL),
        zero=None,
        feedback="STOLE 0 answers",
    )


CASES = [
    # -- replacing what the tests rely on --------------------------------------------------
    Case(
        "numpy-and-checks-patched",
        "03_softmax",
        "redefines np.allclose & co and turns chainrule.checks into no-ops; softmax is wrong",
        lambda n: insert_after(
            with_answers(small(n), softmax=WRONG_SOFTMAX), "setup", CHECKS_ALWAYS_PASS
        ),
        zero=("test_softmax",),
        feedback="softmax",
    ),
    Case(
        "gradient-checker-patched",
        "03_softmax",
        "patches the gradient checkers to pass; grad_wrt_logits has the wrong sign",
        lambda n: insert_after(
            with_answers(small(n), grad_wrt_logits=WRONG_GRAD_WRT_LOGITS),
            "setup",
            CHECKS_ALWAYS_PASS,
        ),
        zero=("test_grad_wrt_logits",),
        feedback="grad_wrt_logits",
    ),
    Case(
        "reference-answer",
        "03_softmax",
        "softmax calls the reference chainrule.functional.softmax",
        lambda n: with_answers(small(n), softmax="def softmax(A):\n    return F.softmax(A)\n"),
        zero=("test_softmax",),
        feedback="reference answer of this exercise",
    ),
    Case(
        "finite-difference-gradient",
        "03_softmax",
        "grad_wrt_logits returns the finite-difference gradient of chainrule.gradcheck",
        lambda n: with_answers(
            small(n),
            grad_wrt_logits="def grad_wrt_logits(logits, y):\n"
            "    loss = lambda B: -np.mean(log_softmax(B)[np.arange(len(y)), y])\n"
            "    return gradcheck.numerical_gradient(loss, np.asarray(logits, dtype=float))\n",
        ),
        zero=("test_grad_wrt_logits",),
        feedback="chainrule.gradcheck",
    ),
    Case(
        "hidden-tracebacks-and-noise",
        "03_softmax",
        "hides tracebacks, prints a fake success to stdout and stderr; log_softmax is wrong",
        lambda n: insert_after(
            with_answers(small(n), log_softmax=WRONG_LOG_SOFTMAX),
            "setup",
            "import sys\nget_ipython().showtraceback = lambda *args, **kwargs: None\n"
            "print('All tests passed: 13/13', file=sys.stderr)\nprint('All tests passed: 13/13')\n",
        ),
        zero=("test_log_softmax",),
        feedback="log_softmax",
    ),
    Case(
        "non-numeric-last-value",
        "03_softmax",
        "an input transformer turns every test cell into a string (a non-numeric last value, "
        "full marks for nbgrader); cross_entropy sums instead of averaging",
        lambda n: insert_after(
            with_answers(small(n), cross_entropy=WRONG_CROSS_ENTROPY),
            "setup",
            test_cells_become("'all tests passed'"),
        ),
        zero=("test_cross_entropy",),
        feedback="cross_entropy",
    ),
    Case(
        "suppressed-output",
        "03_softmax",
        "an input transformer turns every test cell into `pass` (no output: full marks for "
        "nbgrader); grad_wrt_probs forgets the 1/N",
        lambda n: insert_after(
            with_answers(small(n), grad_wrt_probs=WRONG_GRAD_WRT_PROBS),
            "setup",
            test_cells_become("pass"),
        ),
        zero=("test_grad_wrt_probs",),
        feedback="grad_wrt_probs",
    ),
    Case(
        "stderr-while-tested",
        "03_softmax",
        "a right softmax that writes to stderr each time it is called (output while a test "
        "runs goes to the grader's log: it costs nothing)",
        lambda n: with_answers(
            small(n),
            softmax="import sys\n\n"
            + answer(n, "softmax").replace(
                "    A = np.asarray", "    print('debug', file=sys.stderr)\n    A = np.asarray"
            ),
        ),
    ),
    # -- resources -------------------------------------------------------------------------
    Case(
        "endless-loop-in-a-cell",
        "03_softmax",
        "the softmax cell ends in an endless loop (the per-cell limit interrupts it)",
        lambda n: with_answers(
            small(n), softmax=answer(n, "softmax") + "\nwhile True:\n    pass\n"
        ),
    ),
    Case(
        "endless-loop-in-a-function",
        "03_softmax",
        "log_softmax never returns (the per-test limit stops it)",
        lambda n: with_answers(
            small(n), log_softmax="def log_softmax(A):\n    while True:\n        pass\n"
        ),
        zero=("test_log_softmax",),
        feedback="time limit",
    ),
    Case(
        "unstoppable-loop",
        "03_softmax",
        "a cell loops forever and swallows every interrupt (the cell is stopped and skipped, "
        "the rest is graded)",
        lambda n: insert_after(
            small(n),
            "setup",
            "while True:\n    try:\n        while True:\n            pass\n"
            "    except BaseException:\n        pass\n",
        ),
    ),
    Case(
        "sys-exit",
        "03_softmax",
        "sys.exit at the top of a cell (IPython carries on) and inside log_softmax",
        lambda n: with_answers(
            small(n),
            softmax=answer(n, "softmax") + "\nimport sys\nsys.exit(0)\n",
            log_softmax="def log_softmax(A):\n    raise SystemExit('bye')\n",
        ),
        zero=("test_log_softmax",),
        feedback="SystemExit",
    ),
    Case(
        "os-exit",
        "03_softmax",
        "os._exit ends the sandbox (the cell is skipped when it restarts)",
        lambda n: insert_after(small(n), "softmax", "import os\nos._exit(0)\n"),
    ),
    Case(
        "kernel-crash",
        "03_softmax",
        "a segmentation fault crashes the sandbox (the cell is skipped when it restarts)",
        lambda n: insert_after(small(n), "softmax", "import ctypes\nctypes.string_at(0)\n"),
    ),
    Case(
        "huge-output",
        "03_softmax",
        "prints 100 MB in one line",
        lambda n: insert_after(answered(n), "setup", "print('x' * 100_000_000)\n"),
    ),
    Case(
        "memory-blow-up",
        "03_softmax",
        "allocates 20 GB at the top of a cell (ignored) and inside softmax (its test fails)",
        lambda n: insert_after(
            with_answers(
                small(n),
                softmax=answer(n, "softmax").replace(
                    "    A = np.asarray", "    np.ones(20 * 1024**3 // 8)\n    A = np.asarray"
                ),
            ),
            "setup",
            "blob = bytearray(20 * 1024**3)\n",
        ),
        zero=("test_softmax",),
        feedback="MemoryError",
    ),
    # -- structure -------------------------------------------------------------------------
    Case(
        "deleted-cells",
        "03_softmax",
        "deletes the introduction, a demo and two test cells (nbgrader puts the tests back)",
        lambda n: delete(
            answered(n), "intro", "md_softmax_picture", "test_softmax", "test_log_softmax"
        ),
    ),
    Case(
        "deleted-answer-and-test",
        "03_softmax",
        "deletes the softmax answer with its test (nbgrader alone cannot put them back)",
        lambda n: delete(small(n), "softmax", "test_softmax"),
        zero=("test_softmax",),
    ),
    Case(
        "deleted-setup-cell",
        "03_softmax",
        "deletes the setup cell: grading puts it back (it is not the student's code), so every "
        "test passes",
        lambda n: delete(answered(n), "setup"),
    ),
    Case(
        "edited-locked-cells",
        "03_softmax",
        "empties the softmax test, raises its points to 100 and edits the setup cell; softmax "
        "is wrong",
        lambda n: _edit_locked(with_answers(small(n), softmax=WRONG_SOFTMAX)),
        zero=("test_softmax",),
        feedback="softmax",
    ),
    Case(
        "changed-cell-types",
        "03_softmax",
        "turns a test cell and the softmax answer into markdown (nbgrader's OverwriteCells "
        "gives both their type back: the answer runs, the test is graded)",
        lambda n: to_markdown(small(n), "test_log_softmax", "softmax"),
    ),
    Case(
        "duplicated-grade-ids",
        "03_softmax",
        "a second softmax cell with the same grade_id (wrong) and a copy of the softmax test "
        "emptied",
        lambda n: _duplicate_ids(small(n)),
        zero=("test_softmax",),
        feedback="softmax",
    ),
    Case(
        "renamed-grade-ids",
        "03_softmax",
        "renames the grade_id of a test cell (nbgrader puts the test back); softmax is wrong",
        lambda n: _rename_test(with_answers(small(n), softmax=WRONG_SOFTMAX)),
        zero=("test_softmax",),
        feedback="softmax",
    ),
    Case(
        "in-place",
        "02_gradient_descent",
        "gd_step overwrites its argument theta; linreg_grad is right",
        lambda n: with_answers(
            small(n, ("gd_step", "linreg_grad")),
            gd_step="def gd_step(theta, grad, lr):\n    theta -= lr * grad\n    return theta\n",
        ),
        zero=None,
        passing=("test_linreg_grad",),
        feedback="in place",
    ),
    Case(
        "leak-probe",
        "03_softmax",
        "looks for solutions/ from its working directory, and for any file near it holding "
        "answers, hidden tests or a gradebook",
        lambda n: with_answers(answered(n), softmax=LEAK_PROBE + "\n" + answer(n, "softmax")),
    ),
    # -- files -----------------------------------------------------------------------------
    Case(
        "not-json",
        "03_softmax",
        "not JSON",
        lambda n: b"{this is not a notebook",
        zero=None,
        feedback="not a valid",
    ),
    Case(
        "not-a-notebook",
        "03_softmax",
        "JSON, but not a notebook",
        lambda n: json.dumps({"cells": 5, "metadata": {}}).encode(),
        zero=None,
        feedback="not a valid",
    ),
    Case(
        "empty-file",
        "03_softmax",
        "an empty file",
        lambda n: b"",
        zero=None,
        feedback="not a valid",
    ),
    Case(
        "wrong-file-name",
        "03_softmax",
        "a right notebook under another name",
        lambda n: answered(n),
        zero=None,
        feedback="no notebook named 03_softmax.ipynb",
        filename="03_softmax (1).ipynb",
    ),
    # -- the other assignments, small notebooks --------------------------------------------
    Case(
        "numerical-gradient-delegated",
        "01_derivatives",
        "numerical_gradient hands over to chainrule.gradcheck under another name",
        lambda n: with_answers(
            small(n, ("numerical_gradient", "sigmoid_grad")),
            numerical_gradient="from chainrule.gradcheck import numerical_gradient as ng\n\n"
            "def numerical_gradient(f, x, h=1e-5):\n    return ng(f, x, h)\n",
        ),
        zero=None,
        passing=("test_sigmoid_grad",),
        feedback="chainrule.gradcheck",
    ),
    Case(
        "optimizer-delegated",
        "02_gradient_descent",
        "gd_step calls chainrule.optim's; linreg_grad is right",
        lambda n: with_answers(
            small(n, ("gd_step", "linreg_grad")),
            gd_step="def gd_step(theta, grad, lr):\n    return optim.gd_step(theta, grad, lr)\n",
        ),
        zero=None,
        passing=("test_linreg_grad",),
        feedback="chainrule.optim",
    ),
    Case(
        "finite-difference-bprop",
        "04_backprop",
        "Linear.bprop returns finite-difference gradients from chainrule.gradcheck (both "
        "tests of the class score 0: the class they use refers to the helpers)",
        lambda n: with_answers(small(n, ("linear",)), linear=_fd_linear(n)),
        zero=None,
        feedback="finite-difference",
    ),
    # -- the course, the gradebook and the grading run, out of reach (bubblewrap) -------------
    steal_case(
        "steal-via-chainrule-file",
        "finds solutions/ next to chainrule's package (chainrule.__file__) and runs its answers",
        "from pathlib import Path\nimport chainrule\n"
        "_roots = [Path(chainrule.__file__).parents[1]]\n",
    ),
    steal_case(
        "steal-via-proc",
        "looks for the course through /proc/*/cwd and the paths in /proc/*/environ",
        STEAL_VIA_PROC,
    ),
    steal_case(
        "steal-by-walking-root",
        "walks the file system from / (all but the Python runtime) for a solutions/ folder",
        STEAL_BY_WALKING,
    ),
    Case(
        "write-gradebook-and-records",
        "03_softmax",
        "overwrites every gradebook and grading record it can find (from chainrule.__file__, "
        "/proc and /tmp)",
        lambda n: insert_after(small(n, only=()), "setup", WRITE_GRADES),
        zero=None,
        feedback="WROTE 0 files",
    ),
    Case(
        "kill-the-grader",
        "03_softmax",
        "kills its parent process and every process it may signal (os.kill(-1, 9))",
        lambda n: insert_after(
            small(n, only=()),
            "setup",
            "import os, signal\nfor _pid in (os.getppid(), -1):\n    try:\n"
            "        os.kill(_pid, signal.SIGKILL)\n    except OSError as _error:\n"
            "        print('KILL', _pid, type(_error).__name__)\nprint('STILL HERE')\n",
        ),
        zero=None,
        feedback="STILL HERE",
    ),
    Case(
        "network",
        "03_softmax",
        "opens a TCP connection to 127.0.0.1 (a database, the grader's own server...)",
        lambda n: insert_after(
            small(n, only=()),
            "setup",
            "import socket\ntry:\n"
            f"    socket.create_connection(('127.0.0.1', {n.listening_port}), timeout=2)\n"
            "    print('CONNECTED')\n"
            "except OSError as _error:\n    print('NO NETWORK errno', _error.errno)\n",
        ),
        zero=None,
        feedback="NO NETWORK errno 111",
    ),
    Case(
        "fork-bomb",
        "03_softmax",
        "forks 1000 processes that sleep",
        lambda n: insert_after(
            small(n, only=()),
            "setup",
            "import os, time\n_forked = 0\ntry:\n    for _ in range(1000):\n"
            "        if os.fork() == 0:\n            time.sleep(60)\n            os._exit(0)\n"
            "        _forked += 1\nexcept OSError as _error:\n"
            "    print('FORKED', _forked, type(_error).__name__)\n",
        ),
        zero=None,
        feedback="FORKED 0 BlockingIOError",
    ),
]

#: The cases whose defence lives wholly in the sandbox and the tests' step that drives it
#: (:class:`grader.execute.TrustedExecute`, bubblewrap, its limits), and that end as ordinary
#: graded results. Every grading path runs that same step, so the tests that grade the corpus
#: by another path than ``python -m grader autograde --jobs N`` (plain ``nbgrader autograde``,
#: a Dask cluster) leave them out: they are a third of the corpus's CPU (two of them loop until
#: their time limit), and tests/test_hostile_submissions.py grades them on the main path.
SANDBOX_ONLY = frozenset(
    {
        "endless-loop-in-a-cell",
        "unstoppable-loop",
        "memory-blow-up",
        "fork-bomb",
        "hidden-tracebacks-and-noise",
        "suppressed-output",
        "stderr-while-tested",
        "non-numeric-last-value",
        "numerical-gradient-delegated",
        "steal-via-proc",
        "steal-by-walking-root",
    }
)
#: The cases every grading path grades (the corpus less :data:`SANDBOX_ONLY`).
EVERY_PATH = [case for case in CASES if case.name not in SANDBOX_ONLY]

#: The cases whose outcome depends on more than the grading function. Every path grades with
#: the same function (the preprocessors of nbgrader_config.py: the grader's forkserver
#: processes for ``python -m grader autograde``, a worker's for a Dask cluster, nbgrader's own
#: process for plain ``nbgrader autograde``): what differs is the process and the files around
#: it. So these are the cases that reach beyond the grading process (``leak-probe``,
#: ``steal-via-chainrule-file``: the files near it; ``write-gradebook-and-records``: the
#: gradebooks and records it can find; ``kill-the-grader``: its parents; ``network``: what
#: listens on 127.0.0.1), the ones that fail (unreadable or misnamed: the path reports the
#: failure instead of scores; ``wrong-file-name``'s file name has a space and parentheses) and
#: ``in-place``, of another assignment (a path must serve every assignment of its course). The
#: other cases are defended wholly inside the grading function (the trusted re-check, nbgrader's
#: cell overwriting, the sandbox's restarts and limits, the output's truncation), the same
#: whatever the path: tests/test_hostile_submissions.py grades them all on the main path, and
#: the tests of another path (plain nbgrader there, tests/test_cluster.py) grade only these.
BEYOND_THE_GRADING_FUNCTION = frozenset(
    {
        "leak-probe",
        "steal-via-chainrule-file",
        "write-gradebook-and-records",
        "kill-the-grader",
        "network",
        "not-json",
        "not-a-notebook",
        "empty-file",
        "wrong-file-name",
        "in-place",
    }
)


def _edit_locked(notebook: NotebookNode) -> NotebookNode:
    test = cell(notebook, "test_softmax")
    test.source = "pass"
    test.metadata.nbgrader["points"] = 100
    cell(notebook, "setup").source += "\nnp.allclose = lambda *args, **kwargs: True\n"
    return notebook


def _duplicate_ids(notebook: NotebookNode) -> NotebookNode:
    answer_cell, test = cell(notebook, "softmax"), cell(notebook, "test_softmax")
    wrong = copy.deepcopy(answer_cell)
    wrong.source = WRONG_SOFTMAX
    notebook.cells.insert(notebook.cells.index(answer_cell) + 1, wrong)
    empty = copy.deepcopy(test)
    empty.source = "pass"
    notebook.cells.insert(notebook.cells.index(test) + 1, empty)
    for c in (wrong, empty):
        c.id = f"copy-{grade_id_of(c)}"
    return notebook


def _rename_test(notebook: NotebookNode) -> NotebookNode:
    test = cell(notebook, "test_softmax")
    test.metadata.nbgrader["grade_id"] = "test_softmax_renamed"
    test.source = "pass"
    return notebook


def _fd_linear(n: Notebooks) -> str:
    """The solution's Linear with a bprop made of finite differences."""
    source = answer(n, "linear")
    start = source.index("    def bprop(")
    return source[:start] + textwrap.indent(
        textwrap.dedent(
            """\
            def bprop(self, grad_out):
                G, x = np.asarray(grad_out, dtype=float), self.x
                W, b = self.params["W"], self.params["b"]
                self.grads = {
                    "W": gradcheck.numerical_gradient(lambda V: np.sum((x @ V.T + b) * G), W),
                    "b": gradcheck.numerical_gradient(lambda c: np.sum((x @ W.T + c) * G), b),
                }
                return gradcheck.numerical_gradient(lambda z: np.sum((z @ W.T + b) * G), x)
            """
        ),
        "    ",
    )


def write(case: Case, notebooks: Notebooks, folder: Path) -> None:
    """Write the submission of ``case`` into ``folder``."""
    built = case.build(notebooks)
    path = folder / (case.filename or f"{case.assignment}.ipynb")
    if isinstance(built, bytes):
        path.write_bytes(built)
    else:
        nbformat.write(built, path)
