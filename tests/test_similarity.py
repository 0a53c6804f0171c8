"""Similarity of answers (grader/similarity.py) on the synthetic class of notebook 04, without
grading: the renamed copy and the copy of the reference module are flagged, the catalogue's
students (the solution with one mistake each, several times) are not, short answers get no
verdict."""

from __future__ import annotations

from pathlib import Path

import pytest
from synthetic_class import COPIED, class_answers, solution_cells

import chainrule
from grader.similarity import (
    MIN_TOKENS,
    fingerprint,
    normalised_tokens,
    reference_snippets,
    similar_answers,
    winnow,
)

REFERENCES = reference_snippets(Path(chainrule.__file__).parent)


@pytest.fixture(scope="module")
def released() -> dict[str, str]:
    return solution_cells("lectures")


def flagged(released: dict[str, str]) -> dict[str, set[tuple[str, str]]]:
    students = class_answers()
    result = {}
    for exercise, template in released.items():
        answers = {
            s: fingerprint(cells.get(exercise, template), template) for s, cells in students.items()
        }
        result[exercise] = {(m.first, m.second) for m in similar_answers(answers, REFERENCES)}
    return result


def test_renamed_copy_and_reference_copy_are_flagged_and_nothing_else(released) -> None:
    found = flagged(released)
    assert found.pop(COPIED) == {
        ("copy-a", "copy-b"),
        ("from-reference", "chainrule.layers.Linear.bprop"),
    }
    assert all(not pairs for pairs in found.values()), found


def test_renaming_comments_layout_and_constants_change_no_token() -> None:
    first = "total = 0  # a sum\nfor x in xs:\n    total += x * 2.5\n"
    second = "s = 1\nfor value in values:   # loop\n    s += (value\n          * 3)\n"
    assert normalised_tokens(first) == [t for t in normalised_tokens(second) if t not in "()"]
    assert winnow(normalised_tokens(first)) == winnow(
        normalised_tokens("acc = 7\nfor y in ys:\n    acc += y * 9\n")
    )


def test_short_answers_get_no_verdict() -> None:
    short = "return np.maximum(a, 0) * grad_out\n"
    answers = {s: fingerprint(short) for s in ("a", "b", "c")}
    assert not answers["a"].judged and answers["a"].tokens < MIN_TOKENS
    assert similar_answers(answers, REFERENCES) == []


def test_code_that_does_not_tokenize_still_gets_a_fingerprint() -> None:
    assert normalised_tokens("x = (1,\ny = 'open") != []


def test_a_blank_answer_has_no_token_and_an_answer_is_shown_dedented(released) -> None:
    template = released[COPIED]
    assert fingerprint(template, template).tokens == 0
    code = fingerprint(class_answers()["copy-a"][COPIED], template).code
    assert code.startswith("# keep a float copy") and "raise NotImplementedError" not in code
