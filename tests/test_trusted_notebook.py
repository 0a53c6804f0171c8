"""Which cells the sandbox runs, what the static scan sees, and what forbidden names resolve to."""

from __future__ import annotations

from pathlib import Path
from types import CodeType, ModuleType

import pytest
import trusted_notebooks as toy
from nbformat.v4 import new_code_cell, new_markdown_cell

import chainrule.functional
import chainrule.gradcheck
from grader.trusted.notebook import plan, read_source, read_submission
from grader.trusted.scan import StudentCode
from grader.trusted.tripwire import Forbidden, resolve


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return toy.write(tmp_path / "toy.ipynb", toy.source_notebook())


def test_source_tests_and_setup(source: Path) -> None:
    notebook = read_source(source)
    assert [t.grade_id for t in notebook.tests] == list(toy.POINTS)
    assert [t.points for t in notebook.tests] == list(toy.POINTS.values())
    softmax = notebook.tests[2]
    assert softmax.forbid == ("chainrule.functional.softmax", "chainrule.functional.log_softmax")
    assert [t.inplace for t in notebook.tests] == [False] * 4 + [True]
    assert notebook.setup == (("setup", toy.SETUP),)
    assert {"intro", "setup", "demo", "test_softmax"} <= notebook.instructor_ids
    assert "softmax" not in notebook.instructor_ids


def test_manually_graded_answers_are_not_tests_but_run(tmp_path: Path) -> None:
    notebook = toy.source_notebook()
    manual = toy.metadata("explain", solution=True, grade=True, points=2)
    notebook.cells.append(new_code_cell("answer = 'because'", metadata=manual))
    source = read_source(toy.write(tmp_path / "manual.ipynb", notebook))
    assert "explain" not in [t.grade_id for t in source.tests]
    assert plan(source, notebook.cells)[-1].source == "answer = 'because'"


def test_duplicate_test_ids_in_the_source_are_an_error(tmp_path: Path) -> None:
    notebook = toy.source_notebook()
    notebook.cells[6].metadata.nbgrader.grade_id = "test_sigmoid_grad"
    with pytest.raises(ValueError, match="share a grade_id"):
        read_source(toy.write(tmp_path / "dup.ipynb", notebook))


def test_plan_runs_answers_and_added_cells_with_the_trusted_setup(source: Path) -> None:
    notebook = toy.source_notebook(extra_cells=("helper = 1",))
    notebook.cells[1].source = "np = None"  # an edited setup cell
    notebook.cells.append(new_markdown_cell("x = 2"))
    copied_test = new_code_cell("raise SystemExit", metadata=notebook.cells[4].metadata)
    notebook.cells.insert(0, copied_test)
    planned = plan(read_source(source), notebook.cells)
    assert [cell.label for cell in planned] == [
        "cell 3 (setup)",
        "cell 5 (sigmoid_grad)",
        "cell 7 (numerical_gradient)",
        "cell 9 (softmax)",
        "cell 11 (affine)",
        "cell 13 (sgd_step)",
        "cell 15",
    ]
    assert planned[0].source == toy.SETUP and planned[0].trusted
    assert not any(cell.trusted for cell in planned[1:])


def test_a_deleted_setup_cell_runs_first(source: Path) -> None:
    notebook = toy.source_notebook()
    del notebook.cells[1]
    planned = plan(read_source(source), notebook.cells)
    assert (planned[0].label, planned[0].source, planned[0].trusted) == (
        "setup cell setup",
        toy.SETUP,
        True,
    )


def test_cells_with_too_much_code_are_not_run(source: Path) -> None:
    notebook = toy.source_notebook(extra_cells=("x = 1\n" * 200_000, "y = 2"))
    *_, huge, small = plan(read_source(source), notebook.cells)
    assert (huge.source, huge.note) == ("", "not run: too much code (over a million characters)")
    assert (small.source, small.note) == ("y = 2", "")


def test_malformed_nbgrader_metadata_makes_a_student_cell(tmp_path: Path, source: Path) -> None:
    notebook = toy.source_notebook()
    notebook.cells[4].metadata.nbgrader = "not a dict"  # the copy of test_sigmoid_grad
    cells = read_submission(toy.write(tmp_path / "s.ipynb", notebook))
    assert "cell 5" in [cell.label for cell in plan(read_source(source), cells)]


def scan(student: str, *forbidden: str, graded: tuple[str, ...] = ("answer",)) -> list[str]:
    context = "from chainrule import gradcheck\nfrom chainrule import functional as F\n"
    return StudentCode([student], [context]).findings(graded, forbidden)


@pytest.mark.parametrize(
    "student",
    [
        "def answer(f, x):\n    return gradcheck.numerical_gradient(f, x)\n",
        "import chainrule.gradcheck as gc\ndef answer(f, x):\n"
        "    return gc.numerical_gradient(f, x)\n",
        "from chainrule.gradcheck import numerical_gradient as ng\ndef answer(f, x):\n"
        "    return ng(f, x)\n",
        "def answer(f, x):\n    from chainrule.gradcheck import rel_error, numerical_gradient\n"
        "    return numerical_gradient(f, x)\n",
        "def helper(f, x):\n    return gradcheck.numerical_gradient(f, x)\n"
        "def answer(f, x):\n    return helper(f, x)\n",
        "class answer:\n    def bprop(self, g):\n"
        "        return gradcheck.numerical_gradient(None, g)\n",
        "%matplotlib inline\ndef answer(f, x):\n    return gradcheck.numerical_gradient(f, x)\n",
    ],
    ids=["module", "alias", "from-import", "import inside", "helper", "method", "with magic"],
)
def test_scan_finds_forbidden_references(student: str) -> None:
    findings = scan(student, "chainrule.gradcheck")
    assert len(findings) == 1 and "your " in findings[0]
    assert "chainrule.gradcheck" in findings[0]


@pytest.mark.parametrize(
    "student",
    [
        "def answer(a):\n    s = F.sigmoid(a)\n    return s * (1 - s)\n",  # another part: allowed
        "def numerical_gradient(f, x):\n    return x\ndef answer(f, x):\n"
        "    return numerical_gradient(f, x)\n",  # the student's own function of that name
        "def answer(a):\n    return a\ndef other(f, x):\n"
        "    return gradcheck.numerical_gradient(f, x)\n",
        "def answer(:\n",  # a syntax error is not a finding
    ],
    ids=["other part", "own function", "ungraded function", "syntax error"],
)
def test_scan_leaves_legitimate_code_alone(student: str) -> None:
    assert scan(student, "chainrule.gradcheck", "chainrule.functional.sigmoid_grad") == []


def reloaded_code(module: ModuleType, name: str) -> CodeType:
    """The code object ``importlib.reload(module)`` would give function ``name`` (a new one)."""
    path = module.__file__
    code = compile(Path(path).read_text(encoding="utf-8"), path, "exec")
    return next(c for c in code.co_consts if isinstance(c, CodeType) and c.co_name == name)


def test_forbidden_names_resolve_to_code_that_reload_keeps() -> None:
    forbidden = Forbidden(["chainrule.functional.softmax", "chainrule.layers.Linear"])
    fresh = reloaded_code(chainrule.gradcheck, "numerical_gradient")
    assert fresh is not chainrule.gradcheck.numerical_gradient.__code__
    assert forbidden.match(fresh) == "chainrule.gradcheck.numerical_gradient"
    assert forbidden.match(reloaded_code(chainrule.functional, "softmax")) == (
        "chainrule.functional.softmax"
    )
    softmax = resolve("chainrule.functional.softmax")
    assert forbidden.match(softmax.__code__) == "chainrule.functional.softmax"
    assert forbidden.match(resolve("chainrule.layers.Linear.bprop").__code__) == (
        "chainrule.layers.Linear.bprop"
    )
    assert forbidden.match(resolve("chainrule.functional.log_softmax").__code__) is None
    assert forbidden.match(resolve("chainrule.layers.Sigmoid.bprop").__code__) is None
    with pytest.raises(ValueError, match="does not name"):
        resolve("chainrule.functional.no_such_function")
