"""The course's dependency lists: who needs which package, read from the pip files.

``requirements-student.txt`` is the one list of what the student notebooks need; the course's
``requirements.txt`` includes it (``-r``) and adds what instructors and the test suite need.
:func:`conda_environment` writes a list as the ``environment.yml`` of the conda route (and
Binder), so the student edition's two lists come from that one file.
"""

from __future__ import annotations

import re
from pathlib import Path

#: The student's list, at the course root.
STUDENT_REQUIREMENTS = "requirements-student.txt"

_BOUND = re.compile(r"([A-Za-z0-9_.\-]+)\s*>=\s*([0-9][0-9.]*)")
_INCLUDE = re.compile(r"(?:-r|--requirement)\s*=?\s*(\S+)")


def parse_bound(line: str) -> tuple[str, str] | None:
    """``(name, version)`` of a ``name>=version`` line (pip's or conda's spelling, comment
    allowed), the name in lower case; None for any other line."""
    bound = _BOUND.fullmatch(line.split("#")[0].strip())
    return (bound[1].lower(), bound[2]) if bound else None


def requirement_bounds(path: Path) -> dict[str, str]:
    """Package name (lower case) to lower bound of each ``name>=version`` line of the pip file
    ``path``, following its ``-r other.txt`` includes (relative to ``path``'s folder).

    Comments and blank lines are skipped; any other line (an unbounded name, ``-e .``) is an
    error, so that every package of the course keeps a lower bound.
    """
    bounds: dict[str, str] = {}
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.split("#")[0].strip()
        if not line:
            continue
        if include := _INCLUDE.fullmatch(line):
            bounds.update(requirement_bounds(path.parent / include[1]))
        elif bound := parse_bound(line):
            bounds[bound[0]] = bound[1]
        else:
            raise ValueError(f"{path}:{number}: expected 'name>=version' or '-r file', got {raw!r}")
    return bounds


def conda_environment(bounds: dict[str, str], *, name: str, header: str) -> str:
    """``environment.yml`` text for conda-forge with the packages and lower bounds of
    ``bounds`` (in its order), Python 3.10 or later and pip, under the comment ``header``."""
    comment = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    lines = [f"name: {name}", "channels:", "  - conda-forge", "dependencies:"]
    lines += ["  - python>=3.10", "  - pip"]
    lines += [f"  - {package}>={bound}" for package, bound in bounds.items()]
    return comment + "\n".join(lines) + "\n"
