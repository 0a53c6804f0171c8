"""Toy nbgrader notebooks for the tests of grader.trusted: a source and its submission variants.

The source has a setup cell, a locked demo cell and five exercises whose tests cover what the
trusted re-check must support: elementwise functions, a grader callable passed to the student's
code, an object with state (params written through, a random generator whose state comes back),
and a function that updates its arguments in place (allowed by the test's metadata).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

SETUP = """\
import numpy as np
from chainrule import functional as F
from chainrule import gradcheck
"""

SOLUTIONS = {
    "sigmoid_grad": '''\
def sigmoid_grad(a):
    """g'(a) = g(a)(1 - g(a)); uses the reference sigmoid, which this exercise allows."""
    ### BEGIN SOLUTION
    s = F.sigmoid(a)
    return s * (1 - s)
    ### END SOLUTION
''',
    "numerical_gradient": '''\
def numerical_gradient(f, x, h=1e-5):
    """Central differences, one entry at a time; x is not modified."""
    ### BEGIN SOLUTION
    x = np.array(x, dtype=float)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        saved = x[i]
        x[i] = saved + h
        plus = f(x)
        x[i] = saved - h
        minus = f(x)
        x[i] = saved
        grad[i] = (plus - minus) / (2 * h)
    return grad
    ### END SOLUTION
''',
    "softmax": '''\
def softmax(A):
    """Row-wise softmax, through the reference logsumexp (allowed: it is not this exercise)."""
    ### BEGIN SOLUTION
    return np.exp(A - F.logsumexp(A, axis=1, keepdims=True))
    ### END SOLUTION
''',
    "affine": '''\
class Affine:
    """A = X W^T + b, with W drawn from rng."""

    def __init__(self, n_in, n_out, rng):
        ### BEGIN SOLUTION
        rng = np.random.default_rng(rng)
        self.params = {"W": 0.1 * rng.normal(size=(n_out, n_in)), "b": np.zeros(n_out)}
        self.grads = {}
        ### END SOLUTION

    def fprop(self, x):
        ### BEGIN SOLUTION
        self.x = x
        return x @ self.params["W"].T + self.params["b"]
        ### END SOLUTION

    def bprop(self, grad_out):
        ### BEGIN SOLUTION
        self.grads = {"W": grad_out.T @ self.x, "b": grad_out.sum(axis=0)}
        return grad_out @ self.params["W"]
        ### END SOLUTION
''',
    "sgd_step": '''\
def sgd_step(params, grads, lr):
    """params[k] -= lr * grads[k], in place."""
    ### BEGIN SOLUTION
    for key in params:
        params[key] -= lr * grads[key]
    ### END SOLUTION
''',
}

TESTS = {
    "sigmoid_grad": (
        1,
        {"forbid": ["chainrule.functional.sigmoid_grad"]},
        """\
from chainrule.checks import check_array

assert sigmoid_grad(0.0) == 0.25, "the sigmoid's slope at 0 is 1/4"
a = np.linspace(-4.0, 4.0, 9)
check_array(sigmoid_grad(a), gradcheck.numerical_derivative(F.sigmoid, a),
            name="sigmoid_grad(a)", rtol=1e-6, atol=1e-9)
### BEGIN HIDDEN TESTS
rng = np.random.default_rng()
a = rng.normal(size=tuple(int(n) for n in rng.integers(1, 5, size=2)))
check_array(sigmoid_grad(a), gradcheck.numerical_derivative(F.sigmoid, a),
            name="sigmoid_grad(a)", rtol=1e-6, atol=1e-9)
### END HIDDEN TESTS
""",
    ),
    "numerical_gradient": (
        2,
        {},
        """\
from chainrule.checks import check_array


def f(x):
    return np.sum(np.sin(x) * x**2)


x = np.array([[0.5, -1.0], [2.0, 0.3]])
check_array(numerical_gradient(f, x), np.cos(x) * x**2 + 2 * x * np.sin(x),
            name="numerical_gradient(f, x)", rtol=1e-6, atol=1e-8)
### BEGIN HIDDEN TESTS
rng = np.random.default_rng()
x = rng.normal(size=3)
C = rng.normal(size=3)
check_array(numerical_gradient(lambda v: float(C @ np.tanh(v)), x), C * (1 - np.tanh(x) ** 2),
            name="numerical_gradient(C . tanh, x)", rtol=1e-6, atol=1e-8)
### END HIDDEN TESTS
""",
    ),
    "softmax": (
        1,
        {"forbid": ["chainrule.functional.softmax", "chainrule.functional.log_softmax"]},
        """\
from chainrule.checks import check_array

A = np.array([[1.0, 2.0, 3.0], [1000.0, 1000.0, 0.0]])
check_array(softmax(A), F.softmax(A), name="softmax(A)", rtol=1e-9)
### BEGIN HIDDEN TESTS
A = np.random.default_rng().normal(size=(4, 5)) * 10
check_array(softmax(A), F.softmax(A), name="softmax(A)", rtol=1e-9)
### END HIDDEN TESTS
""",
    ),
    "affine": (
        2,
        {"forbid": ["chainrule.layers.Linear"]},
        """\
from chainrule.checks import check_array

rng = np.random.default_rng(0)
layer = Affine(3, 2, rng)
reference = np.random.default_rng(0)
reference.normal(size=(2, 3))
assert rng.normal() == reference.normal(), "the generator's state must come back from Affine"
assert set(layer.params) == {"W", "b"} and "W" in layer.params and len(layer.params) == 2
layer.params["W"] += 1.0
assert np.all(layer.params["W"] > 0.5), "params must be updated in place"
x = rng.normal(size=(4, 3))
out = layer.fprop(x)
check_array(out, x @ layer.params["W"].T + layer.params["b"], name="fprop(x)", rtol=1e-12)
### BEGIN HIDDEN TESTS
R = rng.normal(size=out.shape)
grad_x = layer.bprop(R)
numeric = gradcheck.numerical_gradient(lambda v: float(np.sum(R * layer.fprop(v))), x)
check_array(grad_x, numeric, name="bprop(R)", rtol=1e-6, atol=1e-9)
W = layer.params["W"]


def loss_of_W(V):
    layer.params["W"] = V
    return float(np.sum(R * layer.fprop(x)))


numeric_W = gradcheck.numerical_gradient(loss_of_W, W)
layer.params["W"] = W
layer.fprop(x)
layer.bprop(R)
check_array(layer.grads["W"], numeric_W, name="grads['W']", rtol=1e-6, atol=1e-9)
### END HIDDEN TESTS
""",
    ),
    "sgd_step": (
        1,
        {"inplace": True},
        """\
from chainrule.checks import check_array

params = {"W": np.ones((2, 2)), "b": np.zeros(2)}
grads = {"W": np.full((2, 2), 2.0), "b": np.array([1.0, -1.0])}
assert sgd_step(params, grads, 0.5) is None
check_array(params["W"], np.zeros((2, 2)), name="W after a step", rtol=0)
check_array(params["b"], [-0.5, 0.5], name="b after a step", rtol=0)
check_array(grads["W"], np.full((2, 2), 2.0), name="grads['W'] (unchanged)", rtol=0)
""",
    ),
}

POINTS = {f"test_{name}": float(points) for name, (points, _, _) in TESTS.items()}

STUBS = {
    name: source.split("    ### BEGIN SOLUTION")[0] + "    raise NotImplementedError()\n"
    for name, source in SOLUTIONS.items()
    if name != "affine"
}
STUBS["affine"] = (
    "class Affine:\n    def __init__(self, n_in, n_out, rng):\n"
    "        raise NotImplementedError()\n"
)


def metadata(grade_id: str, tags: list[str] | None = None, **flags: object) -> dict:
    """Cell metadata as nbgrader writes it (schema 3); ``flags`` override its defaults."""
    nbgrader = {
        "grade_id": grade_id,
        "solution": False,
        "grade": False,
        "locked": False,
        "task": False,
        "schema_version": 3,
    }
    nbgrader.update(flags)
    return {"nbgrader": nbgrader, **({"tags": tags} if tags else {})}


def source_notebook(
    solutions: dict[str, str] | None = None, extra_cells: tuple[str, ...] = ()
) -> nbformat.NotebookNode:
    """The source notebook; ``solutions`` replaces answers, ``extra_cells`` are appended as cells
    without nbgrader metadata (as a student adds cells)."""
    answers = {**SOLUTIONS, **(solutions or {})}
    cells = [
        new_markdown_cell("# Toy exercises", metadata=metadata("intro", locked=True)),
        new_code_cell(SETUP, metadata=metadata("setup", locked=True, tags=["setup"])),
        new_code_cell(
            "raise RuntimeError('locked demo cells do not run')",
            metadata=metadata("demo", locked=True),
        ),
    ]
    for name, (points, options, test) in TESTS.items():
        cells.append(new_code_cell(answers[name], metadata=metadata(name, solution=True)))
        test_metadata = metadata(f"test_{name}", grade=True, locked=True, points=points)
        if options:
            test_metadata["chainrule"] = options
        cells.append(new_code_cell(test, metadata=test_metadata))
    cells += [new_code_cell(text) for text in extra_cells]
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return new_notebook(cells=cells, metadata={"kernelspec": kernel})


def write(path: Path, notebook: nbformat.NotebookNode) -> Path:
    """Save ``notebook`` at ``path`` and return the path."""
    nbformat.write(notebook, path)
    return path
