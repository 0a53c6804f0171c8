"""The checkers of chainrule.checks tag a failure that names a known mistake with a stable
identifier (``[mistake: <id>]``), which ``split_mistake`` reads back for the grading record."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.checks import (
    Mistake,
    check_array,
    check_gradient,
    check_unchanged,
    known_mistakes,
    mistake_id,
    split_mistake,
)


def failure(action) -> str:
    with pytest.raises(AssertionError) as info:
        action()
    return str(info.value)


def test_a_known_mistake_is_tagged_and_the_tag_splits_off() -> None:
    def wrong() -> None:
        with known_mistakes(3.0, {"the batch loss is the mean, not the sum": 3.0}):
            check_array(3.0, 1.5, name="loss")

    message, mistake = split_mistake(failure(wrong))
    assert mistake == "the-batch-loss-is-the-mean"
    assert message.endswith("likely mistake: the batch loss is the mean, not the sum")
    assert "[mistake" not in message


def test_an_explicit_identifier_survives_rewording() -> None:
    def wrong(words: str) -> None:
        with known_mistakes(3.0, {Mistake("summed-not-averaged", words): 3.0}):
            check_array(3.0, 1.5, name="loss")

    first, second = (failure(lambda w=w: wrong(w)) for w in ("summed", "you took the sum"))
    assert split_mistake(first)[1] == split_mistake(second)[1] == "summed-not-averaged"
    assert split_mistake(second)[0].endswith("likely mistake: you took the sum")


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
            lambda v: float(np.sum(v**2)) / 2, lambda v: factor * v, x, name="g", batch_size=2
        )
    )
    assert split_mistake(message)[1] == mistake


def test_every_diagnose_hint_maps_to_an_identifier() -> None:
    """A rewording of gradcheck.diagnose must not silently lose the mistake identifiers."""
    numeric = np.arange(1.0, 5.0).reshape(2, 2)
    for analytic, mistake in [
        (numeric.T, "transposed"),
        (-numeric, "sign-flipped"),
        (np.zeros((2, 2)), "all-zeros"),
        (2 * numeric, "batch-mean-missing"),
        (np.ones((2, 3)), "wrong-shape"),
    ]:
        message = failure(
            lambda a=analytic: check_gradient(
                lambda v: float(np.sum(numeric * v)), lambda v: a, numeric, name="g", batch_size=2
            )
        )
        assert split_mistake(message)[1] == mistake, message


def test_plain_failures_have_no_tag_and_common_ones_have_theirs() -> None:
    assert split_mistake(failure(lambda: check_array(1.0, 2.0, name="f")))[1] == ""
    assert split_mistake(failure(lambda: check_array(None, 2.0, name="f")))[1] == "returned-none"
    changed = failure(lambda: check_unchanged(np.zeros(2), np.ones(2), name="f", argument="x"))
    assert split_mistake(changed)[1] == "changed-input-in-place"


def test_mistake_ids_are_short_slugs() -> None:
    assert mistake_id("sign flipped: the gradient is f(x) - e(y)") == "sign-flipped"
    assert len(mistake_id("word " * 40)) <= 48
    assert split_mistake("no tag here") == ("no tag here", "")
