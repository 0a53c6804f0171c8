"""The course's grading secret and the per-test seeds of hidden inputs derived from it.

The secret is the environment variable ``CHAINRULE_GRADING_SECRET`` or else the git-ignored
file ``.grading-secret`` next to ``nbgrader_config.py`` (which ``python -m grader autograde``
creates on first use). ``nbgrader_config.py`` hands it to ``c.TrustedExecute.seed_secret``;
``release`` never copies it (it is not under ``solutions/``), and the sandbox never sees the
course. The entropy of one test is

    s = int(SHA-256(len-prefixed secret, student, assignment, notebook, grade_id))

so a regrade draws the same hidden inputs, two students different ones, and without the secret
nobody can compute them (:mod:`chainrule.hidden` turns ``s`` into generators).

``python -m grader autograde`` computes the seeds of a submission's tests where the secret is
(:func:`submission_seeds`) and hands the grading process only those (:class:`GivenSeeds`): the
secret never leaves the machine that keeps the course, even when a Dask worker grades.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

#: The file that holds the secret, in the course root (git-ignored, never released).
SECRET_FILE = ".grading-secret"
#: The environment variable that overrides the file.
SECRET_ENV = "CHAINRULE_GRADING_SECRET"


def grading_secret(root: str | Path) -> str:
    """The course's secret: ``$CHAINRULE_GRADING_SECRET``, else ``root/.grading-secret``, else
    '' (then hidden inputs are unseeded)."""
    from_env = os.environ.get(SECRET_ENV, "").strip()
    if from_env:
        return from_env
    path = Path(root) / SECRET_FILE
    return path.read_text().strip() if path.is_file() else ""


def ensure_secret(root: str | Path) -> str:
    """The course's secret, first writing a random one to ``root/.grading-secret`` (mode 600)
    when neither the environment nor the file holds one."""
    found = grading_secret(root)
    if found:
        return found
    path = Path(root) / SECRET_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(secrets.token_hex(32) + "\n")
    return grading_secret(root)


@dataclass(frozen=True)
class HiddenSeeds:
    """The seeds of one submitted notebook's hidden tests."""

    secret: str
    student: str
    assignment: str
    notebook: str

    def __post_init__(self) -> None:
        if not self.secret:
            raise ValueError("secret must be a non-empty string")

    def for_test(self, grade_id: str) -> int:
        """The entropy of test ``grade_id``: a 256-bit int (see the module's docstring)."""
        digest = hashlib.sha256()
        for part in (self.secret, self.student, self.assignment, self.notebook, grade_id):
            data = part.encode()
            digest.update(len(data).to_bytes(8, "big") + data)
        return int.from_bytes(digest.digest(), "big")


class Seeds(Protocol):
    """Where the seed of each hidden test of one notebook comes from."""

    def for_test(self, grade_id: str) -> int:
        """The entropy of test ``grade_id``."""
        ...


@dataclass(frozen=True)
class GivenSeeds:
    """The seeds of one notebook's hidden tests, computed by whoever holds the secret: grade id
    -> the 256-bit entropy of :meth:`HiddenSeeds.for_test`, as 64 hexadecimal digits."""

    seeds: Mapping[str, str]

    def for_test(self, grade_id: str) -> int:
        """The entropy of test ``grade_id``; KeyError naming it when none was given."""
        if grade_id not in self.seeds:
            raise KeyError(f"no hidden-input seed was given for test {grade_id!r}")
        return int(self.seeds[grade_id], 16)


def submission_seeds(
    secret: str, student: str, assignment: str, tests: Mapping[str, list[str]]
) -> dict[str, dict[str, str]]:
    """Notebook -> grade id -> seed (64 hexadecimal digits) of each of ``tests`` (notebook ->
    the grade ids of its tests), for :class:`GivenSeeds`."""
    seeds: dict[str, dict[str, str]] = {}
    for notebook, grade_ids in tests.items():
        notebook_seeds = HiddenSeeds(secret, student, assignment, notebook)
        seeds[notebook] = {g: f"{notebook_seeds.for_test(g):064x}" for g in grade_ids}
    return seeds
