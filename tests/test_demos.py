"""Grading skips the demo cells no later cell depends on (grader/demos.py).

The static analysis (which names a cell reads and binds), the choice of demos to skip, the
house rule that makes the feature work on the real course, and the sandbox's plan of the cells
to run (:func:`grader.trusted.notebook.plan`), end to end once.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from hypothesis import given
from hypothesis import strategies as st
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from test_grader import nbgrader_cell, write_notebook

from grader.autograde import autograde
from grader.course import Course
from grader.demos import ANY, MAX_ANALYSED, binds, demo_texts, is_demo, reads, skippable
from grader.phases import PHASES
from grader.release import release
from grader.submissions import Submission, graded_tests
from grader.trusted.notebook import plan, read_source

REPO = Path(__file__).resolve().parents[1]

# -- reads and binds -------------------------------------------------------------------------

#: (source, names it must read, names it must not read).
READS = {
    "module order": ("rng = make_rng(0)\nrng.normal()", {"make_rng"}, {"rng"}),
    "rebinding reads": ("x = x + 1", {"x"}, set()),
    "bound first": ("x = 1\nx = x + 1", set(), {"x"}),
    "for": ("for i in range(3):\n    total = i * step", {"range", "step"}, {"i"}),
    "with as": ("with open(path) as fh:\n    fh.read()", {"open", "path"}, {"fh"}),
    "except as": (
        "try:\n    risky()\nexcept ValueError as err:\n    print(err)",
        {"risky", "ValueError"},
        {"err"},
    ),
    "list comprehension": ("[v * 2 for v in values]", {"values"}, {"v"}),
    "dict comprehension": ("{k: v for k, v in pairs}", {"pairs"}, {"k", "v"}),
    "if without else": ("if flag:\n    y = 1\nprint(y)", {"flag", "y"}, set()),
    "if and else": ("if flag:\n    y = 1\nelse:\n    y = 2\nprint(y)", {"flag"}, {"y"}),
    "elif without else": ("if a:\n    y = 1\nelif b:\n    y = 2\nprint(y)", {"a", "b", "y"}, set()),
    "elif and else": (
        "if a:\n    y = 1\nelif b:\n    y = 2\nelse:\n    y = 3\nprint(y)",
        {"a", "b"},
        {"y"},
    ),
    "function body": ("def f(a):\n    b = a * scale\n    return b", {"scale"}, {"a", "b", "f"}),
    "closure": (
        "def outer():\n    v = 1\n    def inner():\n        return v + G\n    return inner",
        {"G"},
        {"v"},
    ),
    "method": ("class C:\n    def m(self):\n        return Z", {"Z"}, {"self", "C"}),
    "lambda": ("lambda q: q + W", {"W"}, {"q"}),
    "default argument": ("def f(a=D):\n    pass", {"D"}, {"a"}),
    "import then use": ("import numpy as np\nnp.zeros(3)", set(), {"np", "numpy"}),
    "harmless magic": ("%matplotlib inline\nX.mean()", {"X"}, set()),
    "attribute store": ("x.a = 1\ny[0] = 2", {"x", "y"}, set()),
    # A name an augmented assignment or ``del`` needs: NameError if a skipped demo bound it.
    "augmented assignment": ("total += 1", {"total"}, set()),
    "global augmented": ("def count():\n    global N\n    N += 1", {"N"}, set()),
    "del": ("del X_big", {"X_big"}, set()),
    "annotation only": ("x: int\nprint(x)", {"x"}, set()),
    "with may swallow": ("with suppress(E):\n    y = 1\nprint(y)", {"y"}, set()),
}


@pytest.mark.parametrize(("source", "read", "not_read"), READS.values(), ids=READS.keys())
def test_reads(source: str, read: set[str], not_read: set[str]) -> None:
    names = reads(source)
    assert "*" not in names, "an analysable cell must not read ANY"
    assert read <= names and not (not_read & names), sorted(names)


#: Cells whose names cannot be told statically: they read every name.
UNANALYSABLE = {
    "syntax error": "x = (",
    "eval": "eval('x')",
    "exec": "exec('x = 1')",
    "globals": "globals()['x']",
    "vars": "vars()",
    "__import__": "m = __import__('os')",
    "line magic running code": "%timeit f(X)",
    "cell magic": "%%time\ny = X",
    "shell": "!echo $X",
    "explicit magic call": "get_ipython().run_line_magic('timeit', 'f(X)')",
    "interpolating magic": "%matplotlib {backend}",
    "captured shell": "x = !echo {y}",
    "__main__": "import __main__\nz = __main__.X",
    "user_ns": "z = get_ipython().user_ns['X']",
}


@pytest.mark.parametrize("source", UNANALYSABLE.values(), ids=UNANALYSABLE.keys())
def test_unanalysable_cells_read_any(source: str) -> None:
    assert reads(source) == ANY


@pytest.mark.parametrize("source", ["%matplotlib inline", "%config InlineBackend.dpi = 100"])
def test_harmless_magics_read_no_name(source: str) -> None:
    assert "*" not in reads(source) and "*" not in binds(source)


#: (source, exactly the global names it binds).
BINDS = {
    "assignment": ("a, *b = c", {"a", "b"}),
    "global in function": ("def f():\n    global X\n    X = 1", {"f", "X"}),
    "local in function": ("def f():\n    Y = 1", {"f"}),
    "global read only": ("def f():\n    global X\n    return X", {"f"}),
    "import dotted": ("import a.b", {"a"}),
    "import as": ("import os.path as p", {"p"}),
    "from import as": ("from a import b as c", {"c"}),
    "class": ("class C:\n    attr = 1", {"C"}),
    "for target": ("for i in range(3):\n    pass", {"i"}),
    "with target": ("with ctx() as (u, v):\n    pass", {"u", "v"}),
    "in one branch": ("if flag:\n    y = 1", {"y"}),
    "comprehension": ("[v for v in values]", set()),
    "attribute and item": ("x[0] = 1\ny.attr = 2", set()),
}


@pytest.mark.parametrize(("source", "bound"), BINDS.values(), ids=BINDS.keys())
def test_binds(source: str, bound: set[str]) -> None:
    assert binds(source) == bound


@pytest.mark.parametrize("source", ["from m import *", "x = 1\nfrom m import *", "x = ("])
def test_star_imports_and_unanalysable_cells_bind_any(source: str) -> None:
    assert binds(source) == ANY


def test_demo_cells_are_plain_code_cells() -> None:
    demo = new_code_cell("plot(x)")
    setup = new_code_cell("import numpy as np", metadata={"tags": ["setup"]})
    answer = nbgrader_cell("def f(): pass", "f", solution=True)
    cells = [demo, setup, answer, new_code_cell("  \n"), new_markdown_cell("plot(y)")]
    assert [is_demo(cell) for cell in cells] == [True, False, False, False, False]
    assert demo_texts(cells) == {"plot(x)"}


# -- skippable -------------------------------------------------------------------------------


def test_a_demo_nothing_reads_is_skipped() -> None:
    cells = [
        ("import numpy as np", False),
        ("shown = np.pi\nprint(shown)", True),
        ("def answer():\n    return np.e", False),
        ("assert answer() > 2", False),
    ]
    assert skippable(cells) == {1}


def test_a_demo_whose_name_a_later_cell_reads_is_kept() -> None:
    cells = [("offset = 41", True), ("def answer():\n    return offset + 1", False)]
    assert skippable(cells) == set()


def test_demos_needed_through_a_chain_are_kept() -> None:
    chain = [("a = 1", True), ("b = a + 1", True)]
    assert skippable([*chain, ("def answer():\n    return b", False)]) == set()
    # Nothing reads b: the second demo is skipped, so nothing needs the first either.
    assert skippable([*chain, ("print('done')", False)]) == {0, 1}


def test_a_name_bound_again_before_its_read_does_not_need_the_demo() -> None:
    assert skippable([("x = 1", True), ("x = 2\nprint(x)", False)]) == {0}
    assert skippable([("x = 1", True), ("print(x)\nx = 2", False)]) == set()


def test_a_cell_reading_any_name_keeps_every_earlier_demo() -> None:
    cells = [("a = 1", True), ("print('b')", True), ("eval(text)", False), ("c = 3", True)]
    assert skippable(cells) == {3}


def test_past_the_analysis_budget_every_earlier_demo_runs() -> None:
    demo = ("unused = 1", True)
    filler = "\n".join(f"x{i} = {i}" for i in range(MAX_ANALYSED // 8))  # longer than the budget
    assert skippable([demo, ("x = 1", False)]) == {0}
    assert skippable([demo, (filler, False), demo]) == {2}


def test_a_star_import_demo_is_kept_when_any_name_is_read_later() -> None:
    assert skippable([("from math import *", True), ("print(pi)", False)]) == set()
    assert skippable([("from math import *", True), ("1 + 1", False)]) == {0}


NAMES = st.sampled_from("abcd")
CELLS = st.lists(
    st.tuples(st.none() | NAMES, st.frozensets(NAMES, max_size=3), st.booleans()), max_size=8
)


def toy_cell(target: str | None, read: frozenset[str]) -> str:
    """``target = r1 + r2 ...`` (or an expression when target is None)."""
    expression = " + ".join(sorted(read)) or "0"
    return f"{target} = {expression}" if target else expression


@given(CELLS)
def test_skippable_is_exactly_the_demos_no_later_running_cell_needs(
    spec: list[tuple[str | None, frozenset[str], bool]],
) -> None:
    cells = [(toy_cell(target, read), demo) for target, read, demo in spec]
    skipped = skippable(cells)
    assert skipped <= {i for i, (_, demo) in enumerate(cells) if demo}
    runs = [i for i in range(len(cells)) if i not in skipped]
    for i, (target, _, demo) in enumerate(spec):
        if demo:
            needed = any(target in spec[j][1] for j in runs if j > i)
            assert (i in skipped) == (not needed), (i, cells)
    # Hence every cell that runs finds the value of each name it reads, as in the full run.
    for j in runs:
        for name in spec[j][1]:
            binders = [i for i in range(j) if spec[i][0] == name]
            assert not binders or binders[-1] not in skipped, (j, name, cells)


# -- the course's notebooks ------------------------------------------------------------------

SOURCES = sorted((REPO / "solutions").glob("*/*.ipynb"))


@pytest.mark.parametrize("path", SOURCES, ids=[p.stem for p in SOURCES])
def test_course_demos_are_the_same_in_source_and_release_and_some_are_skipped(
    path: Path,
) -> None:
    source = nbformat.read(path, as_version=4)
    released = REPO / "lectures" / path.parent.name / path.name
    demos = demo_texts(nbformat.read(released, as_version=4).cells)
    # The kernel's preprocessor reads the release, the trusted re-check the source.
    assert demo_texts(source.cells) == demos
    code = [cell.source for cell in source.cells if cell.cell_type == "code"]
    assert skippable([(text, text in demos) for text in code]), f"{path.name}: no demo skipped"


def test_the_course_rule_has_notebooks_to_check() -> None:
    assert SOURCES, "no notebook in solutions/: the test above checked nothing"


# -- a toy notebook, for plan() and SkipDemoCells --------------------------------------------

ASSIGNMENT = "toy"
SETUP = "import math"
NEEDED_DEMO = "offset = 41\nprint('offset set')"
UNNEEDED_DEMO = "marker = 'DEMO-MARKER'\nprint(marker)"
SOLUTION = "def answer():\n    ### BEGIN SOLUTION\n    return offset + 1\n    ### END SOLUTION\n"
STUB = "def answer():\n    raise NotImplementedError()\n"
TEST = "assert answer() == 42"


def toy_notebook(answer: str = SOLUTION, demo: str = UNNEEDED_DEMO) -> nbformat.NotebookNode:
    """Setup, a demo the answer needs, one ``demo`` it does not need, the answer, its test."""
    setup = nbgrader_cell(SETUP, "setup")
    setup.metadata.tags = ["setup"]
    cells = [
        new_markdown_cell("# Toy"),
        setup,
        new_code_cell(NEEDED_DEMO),
        new_code_cell(demo),
        nbgrader_cell(answer, "answer", solution=True),
        nbgrader_cell(TEST, "test_answer", points=1),
    ]
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return new_notebook(cells=cells, metadata={"kernelspec": kernel})


def planned_sources(tmp_path: Path, submission: nbformat.NotebookNode) -> list[str]:
    source = read_source(write_notebook(tmp_path / "toy.ipynb", toy_notebook()))
    return [cell.source for cell in plan(source, submission.cells)]


def test_plan_leaves_out_the_demo_no_answer_needs(tmp_path: Path) -> None:
    assert planned_sources(tmp_path, toy_notebook()) == [SETUP, NEEDED_DEMO, SOLUTION]
    own = "def answer():\n    return 42\n"
    assert planned_sources(tmp_path, toy_notebook(own)) == [SETUP, own]


def test_plan_runs_a_demo_the_student_changed_as_their_code(tmp_path: Path) -> None:
    submission = toy_notebook()
    changed = UNNEEDED_DEMO.replace("DEMO-MARKER", "my marker")
    submission.cells[3].source = changed
    source = read_source(write_notebook(tmp_path / "toy.ipynb", toy_notebook()))
    planned = plan(source, submission.cells)
    assert [cell.source for cell in planned] == [SETUP, NEEDED_DEMO, changed, SOLUTION]
    assert not planned[2].trusted and planned[2].label == "cell 4"


def test_plan_runs_a_demo_whose_name_the_answer_reads(tmp_path: Path) -> None:
    own = "def answer():\n    return len(marker) + 31\n"
    assert planned_sources(tmp_path, toy_notebook(own)) == [SETUP, UNNEEDED_DEMO, own]


# -- end to end ------------------------------------------------------------------------------


@pytest.mark.slow
def test_autograde_skips_the_unneeded_demo_and_runs_the_needed_one(
    course: Course, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # The sandbox keeps each cell's output: the unneeded demo would show "unneeded demo ran".
    demo = f"{UNNEEDED_DEMO}\nprint('unneeded demo ran')\n"
    solution = toy_notebook(demo=demo)
    write_notebook(course.directory("source") / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", solution)
    release(course)
    submission = Submission("ann", ASSIGNMENT)
    folder = course.directory("submitted") / submission.student / ASSIGNMENT
    write_notebook(folder / f"{ASSIGNMENT}.ipynb", solution)

    (outcome,) = autograde(course, [submission], progress=False)

    assert (outcome.failure, outcome.error) == (None, None)
    # Every phase of grading was timed, and together they are the submission's time.
    assert set(outcome.phases) == set(PHASES) and min(outcome.phases.values()) >= 0
    assert sum(outcome.phases.values()) == pytest.approx(outcome.seconds)
    (test,) = graded_tests(course, submission)
    # Full points: the sandbox ran the needed demo, which the answer reads.
    assert (test.grade_id, test.score, test.max_score, test.message) == ("test_answer", 1, 1, "")
    path = course.directory("autograded") / submission.student / ASSIGNMENT / "toy.ipynb"
    graded = {cell.source: cell for cell in nbformat.read(path, as_version=4).cells}
    unneeded, needed = graded[demo], graded[NEEDED_DEMO]
    assert unneeded.outputs == [] and unneeded.execution_count is None
    assert [output.get("text") for output in needed.outputs] == ["offset set\n"]
