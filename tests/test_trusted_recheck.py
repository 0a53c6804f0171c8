"""End-to-end tests of the trusted re-check on toy notebooks (tests/trusted_notebooks.py).

Each re-check starts a real sandbox child; the hostile submissions below try to earn points they
did not prove, to escape anti-delegation, or to stop the grader, and must fail exactly the tests
they target with a message saying why.
"""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil
import pytest
import trusted_notebooks as toy
from nbformat.v4 import new_code_cell, new_notebook

from grader.limits import Limits
from grader.trusted import environment, proxy, sandbox
from grader.trusted import recheck as trusted
from grader.trusted.recheck import recheck

WRONG = {
    "sigmoid_grad": "def sigmoid_grad(a):\n    return F.sigmoid(a)\n",
    "numerical_gradient": "def numerical_gradient(f, x, h=1e-5):\n    return np.zeros_like(x)\n",
    "softmax": "def softmax(A):\n    return np.exp(A)\n",
    "affine": toy.SOLUTIONS["affine"].replace(
        'return grad_out @ self.params["W"]', 'return 2 * grad_out @ self.params["W"]'
    ),
    "sgd_step": "def sgd_step(params, grads, lr):\n"
    "    for k in params:\n        params[k] += lr * grads[k]\n",
}


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return toy.write(tmp_path_factory.mktemp("source") / "toy.ipynb", toy.source_notebook())


def grade(
    tmp_path: Path,
    source: Path,
    solutions: dict[str, str] | None = None,
    extra: tuple[str, ...] = (),
    limits: Limits | None = None,
) -> dict[str, trusted.TestVerdict]:
    notebook = toy.source_notebook(solutions, extra)
    return recheck(toy.write(tmp_path / "submission.ipynb", notebook), source, limits=limits)


def scores(verdicts: dict[str, trusted.TestVerdict]) -> dict[str, float]:
    return {grade_id: verdict.points for grade_id, verdict in verdicts.items()}


def full_except(*failed: str) -> dict[str, float]:
    return {key: 0.0 if key in failed else points for key, points in toy.POINTS.items()}


def test_correct_submission_scores_every_test(tmp_path: Path, source: Path) -> None:
    # The answers use chainrule.functional.sigmoid and logsumexp: reference code for *other*
    # parts than the exercise is allowed.
    verdicts = grade(tmp_path, source)
    assert scores(verdicts) == toy.POINTS
    assert all(v.passed and v.message == "" and v.max_points == v.points for v in verdicts.values())


def test_wrong_answers_lose_exactly_their_tests(tmp_path: Path, source: Path) -> None:
    # softmax is right but overwrites its input: it fails, naming the argument.
    in_place = (
        "def softmax(A):\n    A -= F.logsumexp(A, axis=1, keepdims=True)\n    return np.exp(A)\n"
    )
    verdicts = grade(tmp_path, source, {"sigmoid_grad": WRONG["sigmoid_grad"], "softmax": in_place})
    assert scores(verdicts) == full_except("test_sigmoid_grad", "test_softmax")
    assert "slope at 0 is 1/4" in verdicts["test_sigmoid_grad"].message
    assert verdicts["test_sigmoid_grad"].max_points == 1.0
    assert "your softmax changed its input A in place" in verdicts["test_softmax"].message


def test_blank_release_scores_zero(tmp_path: Path, source: Path) -> None:
    verdicts = grade(tmp_path, source, toy.STUBS)
    assert scores(verdicts) == full_except(*toy.POINTS)
    assert all("NotImplementedError" in v.message for v in verdicts.values())


TAMPERING = {
    "numpy comparisons always pass": """\
np.allclose = lambda *args, **kwargs: True
np.isclose = lambda a, b, **kwargs: np.ones(np.broadcast(a, b).shape, dtype=bool)
np.array_equal = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None
""",
    "checker monkeypatched": """\
import chainrule.checks
gradcheck.rel_error = lambda a, b: 0.0
gradcheck.numerical_derivative = lambda f, x, h=1e-5: sigmoid_grad(x)
gradcheck.numerical_gradient = lambda f, x, h=1e-5: numerical_gradient(f, x)
chainrule.checks.check_array = lambda *args, **kwargs: None
F.softmax = softmax
""",
    "AssertionError replaced": """\
import builtins
builtins.AssertionError = type("AssertionError", (Exception,), {})
builtins.NotImplementedError = builtins.AssertionError
""",
    "tracebacks hidden": """\
get_ipython().showtraceback = lambda *args, **kwargs: None
get_ipython().showsyntaxerror = lambda *args, **kwargs: None
""",
    "fake success printed": """\
import sys
print("All tests passed! Score: 7/7", file=sys.stderr)
print("All tests passed! Score: 7/7")
""",
    "setup names shadowed": """\
class FakeNumpy:
    def __getattr__(self, name):
        return lambda *args, **kwargs: True

np = F = gradcheck = FakeNumpy()
""",
    "sys.exit at top level": "import sys\nsys.exit(0)\n",
}


@pytest.mark.parametrize("attack", TAMPERING.values(), ids=TAMPERING.keys())
def test_tampering_with_wrong_answers_earns_nothing(
    tmp_path: Path, source: Path, attack: str
) -> None:
    verdicts = grade(tmp_path, source, WRONG, (attack,))
    assert scores(verdicts) == full_except(*toy.POINTS)


def test_noise_does_not_cost_a_correct_submission(tmp_path: Path, source: Path) -> None:
    noisy = {
        "sigmoid_grad": toy.SOLUTIONS["sigmoid_grad"].replace(
            "    s = F.sigmoid(a)",
            "    import sys\n    print('debug', file=sys.stderr)\n    s = F.sigmoid(a)",
        )
    }
    attacks = (TAMPERING["tracebacks hidden"], TAMPERING["fake success printed"])
    assert scores(grade(tmp_path, source, noisy, attacks)) == toy.POINTS


def test_objects_that_vouch_for_themselves_fail(tmp_path: Path, source: Path) -> None:
    # In the student's kernel these would pass `sigmoid_grad(0.0) == 0.25` and checks that
    # convert with float() or numpy; in the grader they are proxies that answer nothing.
    liar = """\
class Liar(float):
    def __eq__(self, other):
        return True

    __ne__ = lambda self, other: False
    __lt__ = __le__ = __gt__ = __ge__ = __eq__
    __hash__ = float.__hash__
    # Were it forwarded, numpy in the grader would read the grader's memory at this address.
    __array_interface__ = {"shape": (), "typestr": "<f8", "data": (8, True), "version": 3}

    def __float__(self):
        return 0.25

    def __array__(self, dtype=None, copy=None):
        return np.asarray(0.25)


def sigmoid_grad(a):
    if np.ndim(a) == 0:
        return Liar(0.0)
    s = F.sigmoid(a)
    return s * (1 - s)


def softmax(A):
    return [Liar(1.0) for row in A]
"""
    verdicts = grade(tmp_path, source, {"sigmoid_grad": liar, "softmax": "pass"})
    assert scores(verdicts) == full_except("test_sigmoid_grad", "test_softmax")
    assert "slope at 0 is 1/4" in verdicts["test_sigmoid_grad"].message
    assert "not an array of numbers" in verdicts["test_softmax"].message


DELEGATION_VIA_HOOK = {
    # getattr with a computed name: only the profile hook can see it.
    "sigmoid_grad": (
        "def sigmoid_grad(a):\n    return getattr(F, 'sigmoid' + '_grad')(a)\n",
        "calls chainrule.functional.sigmoid_grad, the reference answer of this exercise",
    ),
    # importlib.reload makes new function objects from the same file.
    "numerical_gradient": (
        "import importlib\nimport chainrule.gradcheck as _g\n_fresh = importlib.reload(_g)\n\n"
        "def numerical_gradient(f, x, h=1e-5):\n    return _fresh.numerical_gradient(f, x, h)\n",
        "calls chainrule.gradcheck.numerical_gradient, a finite-difference helper",
    ),
    # A reference captured at top level, called through a helper.
    "softmax": (
        "_captured = getattr(F, 'soft' + 'max')\n\ndef _helper(A):\n    return _captured(A)\n\n"
        "def softmax(A):\n    return _helper(A)\n",
        "calls chainrule.functional.softmax",
    ),
    "affine": (
        toy.SOLUTIONS["affine"].replace(
            "        self.x = x\n",
            "        import sys\n        sys.setprofile(None)\n        self.x = x\n",
        ),
        "calls sys.setprofile, which tampers with the grader",
    ),
    "sgd_step": (
        toy.SOLUTIONS["sgd_step"].replace(
            "    for key in params:",
            "    import sys\n    sys.settrace(None)\n    for key in params:",
        ),
        "calls sys.settrace, which tampers with the grader",
    ),
}


def test_delegation_and_tampering_seen_by_the_sandbox(tmp_path: Path, source: Path) -> None:
    answers = {name: answer for name, (answer, _) in DELEGATION_VIA_HOOK.items()}
    verdicts = grade(tmp_path, source, answers)
    assert scores(verdicts) == full_except(*toy.POINTS)
    for name, (_, why) in DELEGATION_VIA_HOOK.items():
        assert why in verdicts[f"test_{name}"].message, name


def test_delegation_seen_in_the_source(tmp_path: Path, source: Path) -> None:
    answers = {
        # Imported at top level under another name; the branch the tests take is clean.
        "numerical_gradient": toy.SOLUTIONS["numerical_gradient"].replace(
            "    x = np.array(x, dtype=float)\n",
            "    if np.size(x) > 10**6:\n        return reference(f, x, h)\n"
            "    x = np.array(x, dtype=float)\n",
        )
        + "\nfrom chainrule.gradcheck import numerical_gradient as reference\n",
        # A subprocess would compute out of the profile hook's sight.
        "sigmoid_grad": (
            "import subprocess, sys\n\ndef sigmoid_grad(a):\n"
            "    subprocess.run([sys.executable, '-c', 'pass'], check=True)\n"
            "    s = F.sigmoid(a)\n    return s * (1 - s)\n"
        ),
    }
    verdicts = grade(tmp_path, source, answers)
    assert scores(verdicts) == full_except("test_numerical_gradient", "test_sigmoid_grad")
    assert "your numerical_gradient refers to chainrule.gradcheck.numerical_gradient" in (
        verdicts["test_numerical_gradient"].message
    )
    assert "starts another process" in verdicts["test_sigmoid_grad"].message


def test_a_crash_or_hang_fails_only_its_test(tmp_path: Path, source: Path) -> None:
    answers = {
        "sigmoid_grad": "import os\n\ndef sigmoid_grad(a):\n    os._exit(1)\n",
        "numerical_gradient": "def numerical_gradient(f, x, h=1e-5):\n"
        "    return bytearray(10 * 1024**3)\n",
        "softmax": "def softmax(A):\n    while True:\n        pass\n",
        "sgd_step": toy.SOLUTIONS["sgd_step"].replace(
            "    for key in params:", "    print('x' * 100_000_000)\n    for key in params:"
        ),
    }
    verdicts = grade(tmp_path, source, answers, limits=Limits(cell_timeout=2.0))
    assert scores(verdicts) == full_except(
        "test_sigmoid_grad", "test_numerical_gradient", "test_softmax"
    )
    assert "ended (exit code 1)" in verdicts["test_sigmoid_grad"].message
    assert "MemoryError" in verdicts["test_numerical_gradient"].message
    assert "ran longer than its time limit (2 s)" in verdicts["test_softmax"].message


HOSTILE_CELLS = (
    "while True:\n    pass\n",  # interrupted by the cell time limit
    "import numpy\nbig = numpy.ones(10 * 1024**3 // 8)\n",  # MemoryError: 10 GB
    "print('y' * 100_000_000)\n",
    "import os\nfor _ in range(100):\n    os.write(1, b'z' * 1_000_000)\n",  # past the size cap
    "import sys\nsys.exit(1)\n",
    "x = 1\n" * 200_000,  # over a million characters: not run, not even parsed
)


def test_hostile_cells_do_not_stop_the_notebook(tmp_path: Path, source: Path) -> None:
    verdicts = grade(tmp_path, source, extra=HOSTILE_CELLS, limits=Limits(cell_timeout=1.0))
    assert scores(verdicts) == toy.POINTS


def test_cells_that_end_or_hang_the_sandbox_are_skipped(tmp_path: Path, source: Path) -> None:
    stubborn = (
        "while True:\n    try:\n        while True:\n            pass\n"
        "    except BaseException:\n        pass\n"
    )
    answers = {"sgd_step": toy.SOLUTIONS["sgd_step"] + "\nimport os\nos._exit(3)\n"}
    verdicts = grade(tmp_path, source, answers, (stubborn,), Limits(cell_timeout=1.0))
    # The cell defining sgd_step ends the process after defining it: skipped, so sgd_step is
    # missing and its test fails, saying which cell did what.
    assert scores(verdicts) == full_except("test_sgd_step")
    message = verdicts["test_sgd_step"].message
    assert "NameError" in message and "(sgd_step): the process running" in message
    assert "could not be stopped" in message


def test_time_per_submission_is_bounded(tmp_path: Path, source: Path) -> None:
    forever = {
        name: f"def {name}(*args, **kwargs):\n    while True:\n        pass\n" for name in WRONG
    }
    forever["affine"] = (
        "class Affine:\n    def __init__(self, *args):\n        while True:\n            pass\n"
    )
    verdicts = grade(tmp_path, source, forever, limits=Limits(timeout=2.5, cell_timeout=1.0))
    assert scores(verdicts) == full_except(*toy.POINTS)
    assert "time limit for the whole notebook (2.5 s)" in verdicts["test_sgd_step"].message


def test_submission_structure_is_taken_from_the_source(tmp_path: Path, source: Path) -> None:
    notebook = toy.source_notebook()
    setup = notebook.cells.pop(1)  # the student deleted the setup cell...
    tampered = nbformat.from_dict(json.loads(json.dumps(notebook.cells[3])))  # ...copied a test
    tampered.source = "raise SystemExit('copied test cell')"
    tampered.id = "copied-test"
    notebook.cells.insert(1, tampered)
    notebook.cells[5].cell_type = "markdown"  # and turned the numerical_gradient answer to text
    notebook.cells[5].pop("outputs")
    notebook.cells[5].pop("execution_count")
    assert setup.metadata.nbgrader.grade_id == "setup"
    submission = toy.write(tmp_path / "structure.ipynb", notebook)
    verdicts = recheck(submission, source)
    assert scores(verdicts) == full_except("test_numerical_gradient")
    assert "NameError" in verdicts["test_numerical_gradient"].message


def test_edited_setup_cell_runs_from_the_source(tmp_path: Path, source: Path) -> None:
    notebook = toy.source_notebook()
    notebook.cells[1].source = "raise SystemExit('the setup cell was edited')\nnp = None\n"
    assert scores(recheck(toy.write(tmp_path / "s.ipynb", notebook), source)) == toy.POINTS


@pytest.mark.parametrize(
    "content",
    [b"", b"{not json", b"[1, 2, 3]", b'{"cells": 5}', b"\xff\xfe\x00garbage", b'{"nbformat": 4}'],
    ids=["empty", "not JSON", "a list", "cells not a list", "binary", "no cells"],
)
def test_unreadable_submission_scores_zero_with_a_reason(
    tmp_path: Path, source: Path, content: bytes
) -> None:
    path = tmp_path / "broken.ipynb"
    path.write_bytes(content)
    verdicts = recheck(path, source)
    assert scores(verdicts) == full_except(*toy.POINTS)
    assert all("could not be read as a Jupyter notebook" in v.message for v in verdicts.values())


def test_sandbox_environment(tmp_path: Path) -> None:
    # The probe's test checks, in the grader, what the student's code sees.
    solutions = tmp_path / "solutions" / "probe"
    solutions.mkdir(parents=True)
    setup = new_code_cell("import os", metadata=toy.metadata("setup", ["setup"], locked=True))
    answer = new_code_cell(
        "def probe():\n    return {'cwd': os.getcwd(), 'files': sorted(os.listdir('.')),"
        " 'env': dict(os.environ)}\n",
        metadata=toy.metadata("probe", solution=True),
    )
    test = new_code_cell(
        f"""\
seen = probe()
solutions = {str(solutions)!r}
assert seen["files"] == ["probe.ipynb"], seen["files"]
assert not seen["cwd"].startswith(solutions)
assert not seen["cwd"].startswith(seen["env"]["HOME"])
assert seen["env"]["MPLBACKEND"] == "module://matplotlib_inline.backend_inline"
assert set(seen["env"]) <= {{"PATH", "HOME", "LANG", "MPLBACKEND", "PYTHONPATH",
    "PYTHONDONTWRITEBYTECODE", "PYTHONSAFEPATH", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
    "MKL_NUM_THREADS", "LC_CTYPE", "PWD"}}, sorted(seen["env"])
assert not any(solutions in value for value in seen["env"].values())
""",
        metadata=toy.metadata("test_probe", grade=True, locked=True, points=1),
    )
    source = toy.write(solutions / "probe.ipynb", new_notebook(cells=[setup, answer, test]))
    verdicts = recheck(source, source)
    assert verdicts["test_probe"].passed, verdicts["test_probe"].message


def test_a_sandbox_that_cannot_start_is_an_error_not_a_zero(
    tmp_path: Path, source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    submission = toy.write(tmp_path / "s.ipynb", toy.source_notebook())
    environment.child_pythonpath()  # cached with the real interpreter
    monkeypatch.setattr(sys, "executable", "/bin/false")
    with pytest.raises(proxy.SandboxError, match="could not start"):
        recheck(submission, source)


def _command_line(process: psutil.Process) -> str:
    """The command line of a process, '' once it has ended (a zombie, or reaped)."""
    try:
        return " ".join(process.cmdline())
    except psutil.NoSuchProcess:  # ZombieProcess is one
        return ""


def test_the_sandbox_dies_with_the_grader(tmp_path: Path) -> None:
    # A grader killed while a cell sleeps must not leave the sandbox behind.
    grader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time\nfrom pathlib import Path\n"
            "from grader.limits import Limits\nfrom grader.trusted.proxy import Sandbox\n"
            f"root = Path({str(tmp_path)!r})\n"
            "(root / 'work').mkdir(); (root / 'home').mkdir()\n"
            "cells = ['import time\\ntime.sleep(600)']\n"
            "limits = Limits(cell_timeout=600)\n"
            "deadline = time.monotonic() + 600\n"
            "sandbox = Sandbox(root / 'work', root / 'home', cells, [[]], limits, deadline)\n"
            "sandbox.ensure_started()\n",
        ]
    )
    children: list[psutil.Process] = []
    for _ in range(300):
        children = [
            child
            for child in psutil.Process(grader.pid).children()
            if "grader.trusted.sandbox" in _command_line(child)
        ]
        if children:
            break
        time.sleep(0.05)
    assert children, "the sandbox did not start"
    time.sleep(1.0)  # let it reach the sleeping cell
    grader.send_signal(signal.SIGKILL)
    grader.wait()
    gone, alive = psutil.wait_procs(children, timeout=10)
    assert not alive


def test_output_past_the_budget_is_dropped_where_it_is_produced() -> None:
    outputs = sandbox.Outputs(10)
    outputs.begin(0)
    outputs.stream("stdout", "abc")
    outputs.stream("stdout", "x" * 10**6)
    outputs.stream("stdout", "more")
    outputs.end()
    outputs.begin(1)
    outputs.add({"output_type": "display_data", "data": {"text/plain": "big"}, "metadata": {}})
    outputs.add({"output_type": "error", "ename": "E", "evalue": "kept", "traceback": []})
    outputs.end()
    first, second = (found for _, found in outputs.report())
    assert first == [
        {"output_type": "stream", "name": "stdout", "text": "abc" + "x" * 7 + sandbox.TRUNCATED}
    ]
    assert [o["output_type"] for o in second] == ["stream", "error"]  # the note, then the error


def test_the_outputs_of_each_cell_come_back_for_the_autograded_notebook(tmp_path: Path) -> None:
    source = toy.write(tmp_path / "source.ipynb", toy.source_notebook())
    cells = [
        new_code_cell("print('hello')\n1 + 1"),
        new_code_cell("import matplotlib.pyplot as plt\nplt.plot([0, 1])\nplt.show()"),
        new_code_cell("raise ValueError('shown to the student')"),
    ]
    run = trusted.run_submission(cells, source)
    text, result = run.outputs[0]
    assert (text.text, result.data["text/plain"]) == ("hello\n", "2")
    (figure,) = [o for o in run.outputs[1] if o.output_type == "display_data"]
    assert base64.b64decode(figure.data["image/png"]).startswith(b"\x89PNG")
    (error,) = run.outputs[2]
    assert (error.ename, error.evalue) == ("ValueError", "shown to the student")
