"""The checkers of chainrule.checks tag a failure that names a known mistake with a stable
identifier (``[mistake: <id>]``), which ``split_mistake`` reads back for the grading record."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.checks import check_array, check_gradient, check_unchanged, split_mistake
from chainrule.compare import Mistake


def failure(action) -> str:
    with pytest.raises(AssertionError) as info:
        action()
    return str(info.value)


def test_a_known_mistake_is_tagged_and_the_tag_splits_off() -> None:
    mistakes = {"not this one": 2.0, "the batch loss is the mean, not the sum": 3.0}
    message, mistake = split_mistake(
        failure(lambda: check_array(3.0, 1.5, name="loss", mistakes=mistakes))
    )
    assert mistake == "the-batch-loss-is-the-mean"
    assert message.endswith("likely mistake: the batch loss is the mean, not the sum")
    assert "[mistake" not in message


def test_an_explicit_identifier_survives_rewording() -> None:
    def wrong(words: str) -> None:
        check_array(3.0, 1.5, name="loss", mistakes={Mistake("summed-not-averaged", words): 3.0})

    first, second = (failure(lambda w=w: wrong(w)) for w in ("summed", "you took the sum"))
    assert split_mistake(first)[1] == split_mistake(second)[1] == "summed-not-averaged"
    assert split_mistake(second)[0].endswith("likely mistake: you took the sum")


def test_a_value_matching_no_mistake_gets_no_tag() -> None:
    mistakes = {"doubled": np.array([2.0, 4.0])}
    for got in (np.array([5.0, 6.0]), np.array([2.0, 4.0, 6.0])):
        message = failure(lambda g=got: check_array(g, [1.0, 2.0], name="f", mistakes=mistakes))
        assert "likely mistake" not in message
        assert split_mistake(message)[1] in ("", "wrong-shape")


@pytest.mark.parametrize(
    ("factor", "mistake"),
    [
        (2.0, "batch-mean-missing"),
        (0.5, "batch-mean-twice"),
        (-1.0, "sign-flipped"),
        (3.0, "constant-factor"),
    ],
)
def test_a_diagnosed_gradient_is_tagged(factor: float, mistake: str) -> None:
    x = np.arange(1.0, 7.0).reshape(3, 2)
    message = failure(
        lambda: check_gradient(
            factor * x, lambda v: float(np.sum(v**2)) / 2, x, name="g", batch_size=2
        )
    )
    assert split_mistake(message)[1] == mistake


def test_every_diagnosis_is_tagged() -> None:
    numeric = np.arange(1.0, 5.0).reshape(2, 2)
    for analytic, mistake in [
        (numeric.T, "transposed"),
        (-numeric, "sign-flipped"),
        (np.zeros((2, 2)), "all-zeros"),
        (2 * numeric, "batch-mean-missing"),
        (np.ones((2, 3)), "wrong-shape"),
        (np.ones((2, 2, 1)), "wrong-shape"),
    ]:
        message = failure(
            lambda a=analytic: check_gradient(
                a, lambda v: float(np.sum(numeric * v)), numeric, name="g", batch_size=2
            )
        )
        assert split_mistake(message)[1] == mistake, message


def test_a_known_mistake_comes_before_the_diagnosis() -> None:
    x = np.arange(1.0, 5.0)
    mistakes = {"you negated it": -2 * x}
    message, mistake = split_mistake(
        failure(
            lambda: check_gradient(
                -2 * x, lambda v: float(np.sum(v**2)), x, name="g", mistakes=mistakes
            )
        )
    )
    assert mistake == "you-negated-it"
    assert "\nhint: sign flipped\n" in message and message.endswith(
        "likely mistake: you negated it"
    )


def test_plain_failures_have_no_tag_and_common_ones_have_theirs() -> None:
    assert split_mistake(failure(lambda: check_array(1.0, 2.0, name="f")))[1] == ""
    assert split_mistake(failure(lambda: check_array(None, 2.0, name="f")))[1] == "returned-none"
    assert split_mistake(failure(lambda: check_array("x", 2.0, name="f")))[1] == "not-numbers"
    changed = failure(lambda: check_unchanged(np.zeros(2), np.ones(2), name="f", argument="x"))
    assert split_mistake(changed)[1] == "changed-input-in-place"


def test_split_mistake_without_a_tag() -> None:
    assert split_mistake("no tag here") == ("no tag here", "")
