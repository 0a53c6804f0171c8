"""Hidden inputs: reproducible per submission, different per student, unknown without the secret.

``chainrule.hidden.hidden_rng`` (what the hidden tests draw from), ``grader.secret`` (the
course's secret and the per-test seeds) and the trusted re-check that seeds each test. The
whole pipeline (a regrade gives the same autograded notebook) is in tests/test_grader_e2e.py.
"""

from __future__ import annotations

import stat
from pathlib import Path

import nbformat
import numpy as np
import pytest
import trusted_notebooks as toy
from nbformat.v4 import new_code_cell, new_notebook

from chainrule.hidden import hidden_rng, seeded
from grader.secret import SECRET_ENV, SECRET_FILE, HiddenSeeds, ensure_secret, grading_secret
from grader.trusted.recheck import recheck

REPO = Path(__file__).resolve().parents[1]


def draws(entropy: int | None, calls: int = 2) -> list[list[int]]:
    """What ``calls`` calls of hidden_rng draw, seeded with ``entropy`` (None: unseeded)."""
    if entropy is None:
        return [hidden_rng().integers(2**62, size=4).tolist() for _ in range(calls)]
    with seeded(entropy):
        return [hidden_rng().integers(2**62, size=4).tolist() for _ in range(calls)]


def test_seeded_streams_repeat_and_each_call_has_its_own() -> None:
    first, second = draws(7)
    assert draws(7) == [first, second]
    assert first != second
    assert draws(8)[0] != first
    expected = np.random.default_rng(np.random.SeedSequence(7, spawn_key=(0,)))
    assert first == expected.integers(2**62, size=4).tolist()


def test_unseeded_outside_grading_and_after_the_context() -> None:
    assert draws(None)[0] != draws(None)[0]
    with seeded(7):
        pass
    assert draws(None)[0] != draws(7)[0]
    with pytest.raises(ValueError, match="entropy"):
        with seeded(-1):
            pass


def test_seeds_depend_on_every_part() -> None:
    base = HiddenSeeds("secret", "alice", "01_derivatives", "01_derivatives")
    seed = base.for_test("test_sigmoid_grad")
    assert seed == HiddenSeeds("secret", "alice", "01_derivatives", "01_derivatives").for_test(
        "test_sigmoid_grad"
    )
    others = [
        HiddenSeeds("other", "alice", "01_derivatives", "01_derivatives"),
        HiddenSeeds("secret", "bob", "01_derivatives", "01_derivatives"),
        HiddenSeeds("secret", "alice", "02_gradient_descent", "01_derivatives"),
        HiddenSeeds("secret", "alice", "01_derivatives", "other"),
    ]
    assert seed not in {other.for_test("test_sigmoid_grad") for other in others}
    assert seed != base.for_test("test_tanh_grad")
    # Length-prefixed parts: moving a character from one part to the next is another seed.
    assert HiddenSeeds("s", "ab", "c", "n").for_test("t") != HiddenSeeds(
        "s", "a", "bc", "n"
    ).for_test("t")
    with pytest.raises(ValueError, match="secret"):
        HiddenSeeds("", "alice", "a", "n")


def test_secret_file_is_made_once_private_and_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    assert grading_secret(tmp_path) == ""
    made = ensure_secret(tmp_path)
    assert len(made) == 64 and grading_secret(tmp_path) == made
    assert ensure_secret(tmp_path) == made
    assert stat.S_IMODE((tmp_path / SECRET_FILE).stat().st_mode) == 0o600
    monkeypatch.setenv(SECRET_ENV, "from-the-environment")
    assert grading_secret(tmp_path) == "from-the-environment"


def test_secret_is_never_released_nor_committed() -> None:
    assert SECRET_FILE in (REPO / ".gitignore").read_text().splitlines()
    config = (REPO / "nbgrader_config.py").read_text()
    assert "SECRET_FILE," in config  # among CourseDirectory.ignore: never copied by nbgrader
    assert not (REPO / "lectures" / SECRET_FILE).exists()


#: A test that fails with what its hidden generator drew, and one that uses no hidden input.
DRAW_TEST = (
    "### BEGIN HIDDEN TESTS\n"
    "rng = hidden_rng()\n"
    "assert False, f'drew {rng.integers(2**62)} {hidden_rng().integers(2**62)}'\n"
    "### END HIDDEN TESTS"
)


def draw_source() -> nbformat.NotebookNode:
    """A source notebook whose test reports the hidden draws in its failure message."""
    return new_notebook(
        cells=[
            new_code_cell(
                "from chainrule.hidden import hidden_rng",
                metadata=toy.metadata("setup", locked=True, tags=["setup"]),
            ),
            new_code_cell(
                DRAW_TEST, metadata=toy.metadata("test_draw", grade=True, locked=True, points=1)
            ),
        ],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}},
    )


@pytest.mark.slow
def test_regrade_draws_the_same_and_another_student_other_inputs(tmp_path: Path) -> None:
    source = toy.write(tmp_path / "source.ipynb", draw_source())
    submission = toy.write(tmp_path / "submission.ipynb", draw_source())

    def message(seeds: HiddenSeeds | None) -> str:
        return recheck(submission, source, seeds=seeds)["test_draw"].message

    alice = HiddenSeeds("secret", "alice", "toy", "toy")
    first = message(alice)
    assert first.startswith("AssertionError: drew ")
    assert message(alice) == first
    assert message(HiddenSeeds("secret", "bob", "toy", "toy")) != first
    assert message(HiddenSeeds("another secret", "alice", "toy", "toy")) != first
    with seeded(alice.for_test("test_draw")):
        expected = [hidden_rng().integers(2**62) for _ in range(2)]
    assert first == f"AssertionError: drew {expected[0]} {expected[1]}"
    assert message(None) != message(None)  # without a secret: unseeded
