"""What of the instructor's course must never reach students, and a scan of files for it.

The secrets of a course are the lines of its source notebooks (``solutions/``) that students
never see: each line between nbgrader's solution delimiters (an answer), between its hidden-test
delimiters (a hidden test), and of a written-answer cell (a markdown solution cell, whose whole
text is the answer). A line that also stands where students see it on purpose is no secret: in
the source notebooks outside those places (text, visible tests, stubs) or in the reference
module ``chainrule/``, which ships with the student edition.

:func:`leaks` scans a set of files (e.g. the student edition before it is written) for those
lines, for any nbgrader delimiter and for a path of the source folder. Notebooks are scanned
whole, every string of their JSON (metadata and outputs included), line by line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

from grader.cells import CellKind, grade_id_of, kind_of
from grader.course import Course

#: An nbgrader delimiter (``### BEGIN SOLUTION``, ``### END HIDDEN TESTS``, ``### BEGIN MARK
#: SCHEME``), spelled in any way that shows it was not removed.
MARKER = re.compile(
    r"###\s*(?:BEGIN|END)\b|\b(?:BEGIN|END)\s+(?:SOLUTION|HIDDEN\s+TESTS?|MARK\s+SCHEME)\b",
    re.IGNORECASE,
)
#: The shipped reference module, whose lines students may read.
REFERENCE_MODULE = "chainrule"


@dataclass(frozen=True)
class Secrets:
    """The lines students must not get (stripped, with where each comes from) and the source
    folder's name, whose paths must not appear either."""

    lines: dict[str, str]
    source_folder: str


def _split(
    cell: nbformat.NotebookNode, delimiters: list[tuple[str, str]]
) -> tuple[list[str], list[str]]:
    """The stripped lines of ``cell`` students never see and those they see: a markdown
    solution cell is hidden whole; else a line is hidden between a pair of ``delimiters``
    (the delimiter lines themselves are neither)."""
    lines = [line.strip() for line in cell.source.splitlines()]
    if kind_of(cell) is CellKind.WRITTEN_ANSWER:
        return lines, []
    hidden: list[str] = []
    shown: list[str] = []
    end: str | None = None
    for line in lines:
        if end is not None and end in line:
            end = None
        elif end is None and (begun := [e for b, e in delimiters if b in line]):
            end = begun[0]
        else:
            (shown if end is None else hidden).append(line)
    return hidden, shown


def secrets(course: Course) -> Secrets:
    """The :class:`Secrets` of ``course``, from every notebook of its source folder."""
    config = course.config()
    solutions, hidden = ClearSolutions(config=config), ClearHiddenTests(config=config)
    delimiters = [
        (solutions.begin_solution_delimeter, solutions.end_solution_delimeter),
        (hidden.begin_test_delimeter, hidden.end_test_delimeter),
    ]
    source = course.directory("source")
    secret: dict[str, str] = {}
    public: set[str] = set()
    for name, path in course.files(source).items():
        if path.suffix != ".ipynb":
            continue
        for cell in nbformat.read(path, as_version=4).cells:
            hidden, shown = _split(cell, delimiters)
            grade_id = grade_id_of(cell) or "?"
            for line in hidden:
                secret.setdefault(line, f"{name}, cell {grade_id}")
            public.update(shown)
    for path in course.files(course.root / REFERENCE_MODULE).values():
        public.update(line.strip() for line in path.read_text(errors="replace").splitlines())
    lines = {line: where for line, where in secret.items() if line and line not in public}
    return Secrets(lines, source.name)


def _strings(value: object) -> Iterator[str]:
    """Every string in a JSON value: keys and values, at any depth."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def text_lines(name: Path, content: bytes) -> list[str]:
    """The stripped lines of a file: of every string of a notebook's JSON, else of its text
    (undecodable bytes replaced)."""
    text = content.decode("utf-8", errors="replace")
    if name.suffix == ".ipynb":
        text = "\n".join(_strings(json.loads(text)))
    return [line.strip() for line in text.splitlines()]


def leaks(files: Mapping[Path, bytes], found: Secrets) -> list[str]:
    """What of ``found`` the ``files`` (content by relative path) contain: a secret line, an
    nbgrader delimiter, or a path in the source folder (also as a file's own path)."""
    source_path = re.compile(rf"(?:^|[\s/\\'\"`(]){re.escape(found.source_folder)}[/\\]")
    problems = []
    for name, content in sorted(files.items()):
        if name.parts and name.parts[0] == found.source_folder:
            problems.append(f"{name} is a file of the source folder")
        for number, line in enumerate(text_lines(name, content), start=1):
            where = f"{name}, line {number}"
            if line in found.lines:
                problems.append(f"{where}: {line[:60]!r}, hidden in {found.lines[line]}")
            if MARKER.search(line):
                problems.append(f"{where}: an nbgrader delimiter {line[:60]!r}")
            if source_path.search(line):
                problems.append(f"{where}: a path in {found.source_folder}/ {line[:60]!r}")
    return problems
