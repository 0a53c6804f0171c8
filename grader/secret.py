"""The course's grading secret and the per-test seeds of hidden inputs derived from it.

The secret is the environment variable ``CHAINRULE_GRADING_SECRET`` or else the git-ignored
file ``.grading-secret`` next to ``nbgrader_config.py`` (which ``python -m grader autograde``
creates on first use). ``nbgrader_config.py`` hands it to ``c.TrustedExecute.seed_secret``;
``release`` never copies it (it is not under ``solutions/``), and the sandbox never sees the
course. The entropy of one test is

    s = int(SHA-256(len-prefixed secret, student, assignment, notebook, grade_id))

so a regrade draws the same hidden inputs, two students different ones, and without the secret
nobody can compute them (:mod:`chainrule.hidden` turns ``s`` into generators).
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

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
