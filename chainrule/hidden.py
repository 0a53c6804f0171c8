"""The random generator of a test's hidden inputs: reproducible when graded, free elsewhere.

A hidden test draws its inputs with ``rng = hidden_rng()``. In the grading process the grader
runs each test inside :func:`seeded` with the test's entropy ``s`` (a digest of the course's
grading secret, the student, the assignment, the notebook and the test, made by
:mod:`grader.secret`), so the ``k``-th call of that test returns

    Generator(PCG64(SeedSequence(entropy=s, spawn_key=(k,)))),   k = 0, 1, ...

the same stream every time that submission is graded, another one for every other student.
Anywhere else (a student's or an instructor's kernel, where there is no secret) it returns an
unseeded ``np.random.default_rng()``. A student's process never holds the entropy: the tests
run in the grader.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import numpy as np


@dataclass
class _Stream:
    entropy: int
    calls: int = 0


_current: ContextVar[_Stream | None] = ContextVar("chainrule_hidden_stream", default=None)


def hidden_rng() -> np.random.Generator:
    """A fresh generator for hidden inputs: seeded per test while graded, unseeded otherwise."""
    stream = _current.get()
    if stream is None:
        return np.random.default_rng()
    sequence = np.random.SeedSequence(entropy=stream.entropy, spawn_key=(stream.calls,))
    stream.calls += 1
    return np.random.default_rng(sequence)


@contextmanager
def seeded(entropy: int) -> Iterator[None]:
    """Make :func:`hidden_rng` return the seeded streams of ``entropy`` (an int >= 0) inside."""
    if not isinstance(entropy, int) or isinstance(entropy, bool) or entropy < 0:
        raise ValueError(f"entropy must be a non-negative int, got {entropy!r}")
    token = _current.set(_Stream(entropy))
    try:
        yield
    finally:
        _current.reset(token)
