"""The course's grading inputs and their digests: what a grading machine must have the same of.

A submission graded elsewhere (a Dask worker, :mod:`grader.cluster`) is graded with that
machine's copy of the course, so every task names what the coordinator's course holds: the
SHA-256 of each file of ``solutions/``, ``lectures/``, ``nbgrader_config.py`` and of the code
that grades, the ``grader`` and ``chainrule`` packages as imported (files nbgrader ignores,
such as ``__pycache__``, left out). A machine whose files differ refuses the task and names
the files (:func:`differences`): the submission is then not graded, never scored.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import chainrule
import grader
from grader.course import CONFIG_FILE, Course

#: The imported packages whose code decides a score, by the name their files are listed under.
PACKAGES = {"grader": Path(grader.__file__).parent, "chainrule": Path(chainrule.__file__).parent}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def grading_inputs(course: Course) -> dict[str, str]:
    """Relative path (``solutions/...``, ``grader/...``) -> SHA-256 of every grading input."""
    folders = {
        course.directory(step).relative_to(course.root).as_posix(): course.directory(step)
        for step in ("source", "release")
    }
    found = {CONFIG_FILE: _sha256(course.root / CONFIG_FILE)}
    for name, folder in {**folders, **PACKAGES}.items():
        for relative, path in course.files(folder).items():
            found[f"{name}/{relative.as_posix()}"] = _sha256(path)
    return found


def inputs_digest(inputs: dict[str, str]) -> str:
    """One SHA-256 of all of ``inputs`` (:func:`grading_inputs`), to show in messages."""
    digest = hashlib.sha256()
    for path in sorted(inputs):
        digest.update(f"{path}\0{inputs[path]}\0".encode())
    return digest.hexdigest()


def differences(expected: dict[str, str], found: dict[str, str], most: int = 10) -> str:
    """'' when ``found`` equals ``expected``, else which files differ, are missing or extra."""
    changed = sorted(p for p in expected.keys() & found.keys() if expected[p] != found[p])
    missing = sorted(expected.keys() - found.keys())
    extra = sorted(found.keys() - expected.keys())
    parts = [
        f"{what}: {', '.join(paths[:most])}"
        + (f" and {len(paths) - most} more" if paths[most:] else "")
        for what, paths in (("differ", changed), ("missing here", missing), ("only here", extra))
        if paths
    ]
    return "; ".join(parts)
