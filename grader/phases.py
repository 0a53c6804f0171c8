"""Where a grading process spends its time: seconds per phase, for the grading benchmark.

One grading process grades one submission; the steps it goes through add their wall time to
:data:`SECONDS` under a phase name (:func:`timed`), and the process sends the totals back with
its result (:class:`grader.packets.GradingResult`); the coordinator adds the time it takes to
save it (:mod:`grader.autograde`). ``python -m benchmarks grading`` sums them over a
student's whole course, so the next optimisation is chosen from a figure. Timing never changes
what is graded.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

#: The phases, in the order a submission goes through them, and what each one covers.
PHASES = {
    "process": "the rest of the grading process: its start (fork, limits, log), reading the task "
    "and sending the result back",
    "workspace": "check the course's version, make the temporary course: the configuration, "
    "sources, release, submission and gradebook",
    "sandbox start": "bubblewrap, Python, numpy and IPython in the sandbox, until its first cell",
    "setup in grader": "the setup cells run in the grading process (the tests' namespace)",
    "student cells": "the submission's cells, in the sandbox",
    "tests": "the test cells, in the grading process, calling into the sandbox",
    "nbgrader": "nbgrader's own steps: sanitize, restore cells, save scores to the temporary "
    "gradebook",
    "results": "read the scores back, pack the autograded folder",
    "save": "on the coordinator: the scores into the gradebook, the autograded folder and its "
    "record into the course",
}

#: Seconds spent in each phase by this process so far.
SECONDS: Counter[str] = Counter()


def add(phase: str, seconds: float) -> None:
    """Add ``seconds`` measured elsewhere to ``phase``."""
    if phase not in PHASES:
        raise ValueError(f"phase must be one of {sorted(PHASES)}, got {phase!r}")
    SECONDS[phase] += seconds


@contextmanager
def timed(phase: str, *within: str) -> Iterator[None]:
    """Add the wall time of the ``with`` block to ``phase``, less what the phases ``within``
    gained meanwhile (steps of another phase that run inside the block)."""
    start, inner = time.perf_counter(), sum(SECONDS[name] for name in within)
    try:
        yield
    finally:
        spent = time.perf_counter() - start
        add(phase, spent - (sum(SECONDS[name] for name in within) - inner))
