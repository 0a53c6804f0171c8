"""Classic wrong implementations lose the points of their own exercise, and only those.

Notebooks 03 (softmax and cross-entropy) and 04 (backpropagation) are graded by the real
nbgrader. For each assignment, in a temporary copy of the course, the students are: the
solution, the blank release, and one student per classic mistake — the solution with one
solution cell's source edited to contain that mistake. One ``nbgrader autograde`` run grades
them all (the two assignments in parallel, each in its own course copy), and the score of every
test cell is read from the gradebook. The demo cells are left out of the submissions: grading
does not need them, and without them the whole test takes about a minute.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

ROOT = Path(__file__).resolve().parents[1]

# assignment -> student -> (solution cell, test cell it must fail, text in that solution cell,
# the same text with the mistake). Every other test cell must keep its full points.
MISTAKES: dict[str, dict[str, tuple[str, str, str, str]]] = {
    "03_softmax": {
        "softmax_without_max_shift": (
            "softmax",
            "test_softmax",
            "E = np.exp(A - A.max(axis=1, keepdims=True))",
            "E = np.exp(A)",
        ),
        "log_of_softmax": (
            "log_softmax",
            "test_log_softmax",
            "return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))",
            "return np.log(softmax(A))",
        ),
        "loss_summed_over_batch": (
            "cross_entropy",
            "test_cross_entropy",
            "-np.mean(",
            "-np.sum(",
        ),
        "probs_gradient_without_1_over_N": (
            "grad_wrt_probs",
            "test_grad_wrt_probs",
            "-1.0 / (N * probs[np.arange(N), y])",
            "-1.0 / probs[np.arange(N), y]",
        ),
        "logits_gradient_sign_flipped": (
            "grad_wrt_logits",
            "test_grad_wrt_logits",
            "return grad / N",
            "return -grad / N",
        ),
        "jacobian_elementwise_square": (
            "softmax_jacobian",
            "test_softmax_jacobian",
            "np.outer(p, p)",
            "p * p",
        ),
    },
    "04_backprop": {
        "linear_fprop_without_bias": (
            "linear",
            "test_linear_fprop",
            'return self.x @ self.params["W"].T + self.params["b"]',
            'return self.x @ self.params["W"].T',
        ),
        "linear_weight_gradient_transposed": (
            "linear",
            "test_linear_bprop",
            '"W": G.T @ self.x',
            '"W": self.x.T @ G',
        ),
        "linear_bias_gradient_not_summed": (
            "linear",
            "test_linear_bprop",
            '"b": G.sum(axis=0)',
            '"b": G',
        ),
        "sigmoid_derivative_is_g": (
            "sigmoid",
            "test_sigmoid_bprop",
            "* self.h * (1.0 - self.h)",
            "* self.h",
        ),
        "tanh_derivative_missing_square": (
            "tanh",
            "test_tanh_bprop",
            "(1.0 - self.h**2)",
            "(1.0 - self.h)",
        ),
        "relu_derivative_is_g": ("relu", "test_relu_bprop", "* (self.a > 0)", "* self.h"),
        "loss_gradient_without_1_over_N": (
            "softmax_cross_entropy",
            "test_softmax_cross_entropy_bprop",
            "return grad / N",
            "return grad",
        ),
        "sequential_forward_order": (
            "sequential",
            "test_sequential_bprop",
            "reversed(self.modules)",
            "self.modules",
        ),
        "backprop_multiplies_by_g": (
            "backprop",
            "test_backprop",
            "* g_prime(A[k - 1])",
            "* g(A[k - 1])",
        ),
        "training_by_gradient_ascent": (
            "train_mlp",
            "test_train_mlp",
            "net.params[name] -= lr * grad",
            "net.params[name] += lr * grad",
        ),
    },
}


def grade_id(cell: nbformat.NotebookNode) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def submissions(source: nbformat.NotebookNode, release: nbformat.NotebookNode, assignment: str):
    """Student id -> notebook: the release with solution cells filled from ``source``."""
    answers = {
        grade_id(cell): cell.source
        for cell in source.cells
        if cell.metadata.get("nbgrader", {}).get("solution")
    }

    def answered(edit: tuple[str, str, str] | None = None) -> nbformat.NotebookNode:
        notebook = nbformat.from_dict(release)
        for cell in notebook.cells:
            if grade_id(cell) in answers:
                cell.source = answers[grade_id(cell)]
                if edit and grade_id(cell) == edit[0]:
                    assert edit[1] in cell.source, f"{edit[1]!r} not in solution cell {edit[0]}"
                    cell.source = cell.source.replace(edit[1], edit[2])
        return notebook

    notebooks = {"solution": answered(), "blank": release}
    for student, (cell, _, right, wrong) in MISTAKES[assignment].items():
        notebooks[student] = answered((cell, right, wrong))
    for notebook in notebooks.values():  # the demos (cells without nbgrader metadata) are left out
        notebook.cells = [cell for cell in notebook.cells if "nbgrader" in cell.metadata]
    return notebooks


def nbgrader(course: Path, *args: str) -> subprocess.Popen:
    env = dict(os.environ)
    env.pop("CHAINRULE_DB_URL", None)  # the gradebook of the temporary course, not a shared one
    # nbgrader runs `alembic` by name: the venv's bin directory must be on PATH.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return subprocess.Popen(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def run_in_parallel(courses: dict[str, Path], command: str) -> None:
    """``nbgrader <command> <assignment>`` in each assignment's course, all at once."""
    running = {
        assignment: nbgrader(course, command, assignment) for assignment, course in courses.items()
    }
    for assignment, process in running.items():
        log, _ = process.communicate(timeout=600)
        assert process.returncode == 0, f"nbgrader {command} {assignment} failed:\n{log}"


@pytest.fixture(scope="module")
def scores(tmp_path_factory) -> dict[str, dict[str, dict[str, float]]]:
    """assignment -> student -> test cell -> autograded score, from one run per assignment."""
    courses = {}
    for assignment in MISTAKES:
        course = tmp_path_factory.mktemp(assignment)
        shutil.copy(ROOT / "nbgrader_config.py", course)
        shutil.copytree(ROOT / "solutions" / assignment, course / "solutions" / assignment)
        courses[assignment] = course
    run_in_parallel(courses, "generate_assignment")
    for assignment, course in courses.items():
        name = f"{assignment}.ipynb"
        source = nbformat.read(course / "solutions" / assignment / name, as_version=4)
        release = nbformat.read(course / "lectures" / assignment / name, as_version=4)
        for student, notebook in submissions(source, release, assignment).items():
            folder = course / "submitted" / student / assignment
            folder.mkdir(parents=True)
            nbformat.write(notebook, folder / name)
    run_in_parallel(courses, "autograde")
    result = {}
    for assignment, course in courses.items():
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "chainrule") as gradebook:
            result[assignment] = {
                student: {
                    grade.name: grade.score
                    for grade in gradebook.find_submission_notebook(
                        assignment, assignment, student
                    ).grades
                }
                for student in ["solution", "blank", *MISTAKES[assignment]]
            }
    return result


@pytest.mark.slow
@pytest.mark.parametrize("assignment", list(MISTAKES))
def test_each_mistake_loses_the_points_of_its_exercise_only(scores, assignment) -> None:
    got = scores[assignment]
    full = got["solution"]
    assert full and all(points > 0 for points in full.values()), full
    expected = {"solution": full, "blank": dict.fromkeys(full, 0.0)}
    for student, (_, failing, _, _) in MISTAKES[assignment].items():
        expected[student] = {**full, failing: 0.0}
    assert got == expected


@pytest.mark.slow
def test_the_solutions_score_every_point(scores) -> None:
    for assignment, students in scores.items():
        source = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", 4)
        points = {
            grade_id(cell): float(cell.metadata["nbgrader"]["points"])
            for cell in source.cells
            if cell.metadata.get("nbgrader", {}).get("grade")
        }
        assert students["solution"] == points
