"""``publish``: the student edition, a folder to push as a public repository of its own.

The course repository holds every answer and hidden test (``solutions/``); students and Binder
get only the edition (``make student-edition``): the released notebooks, the reference module
``chainrule`` they build on, and what it takes to run them (``grader/edition/``: a student
README, a Makefile whose ``make lab`` works there, Binder's ``postBuild``, a minimal nbgrader
configuration for Validate). Its ``requirements.txt`` is the course's
``requirements-student.txt`` and its ``environment.yml`` is made from it.

The edition is built in memory and scanned (:mod:`grader.leakscan`) before a byte is written:
publishing refuses an edition holding an answer, a hidden test, an nbgrader delimiter or a path
of ``solutions/``. Publishing twice gives the same bytes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from grader import kernel_setup
from grader.course import Course, GraderError
from grader.leakscan import REFERENCE_MODULE, leaks, secrets
from grader.requirements import STUDENT_REQUIREMENTS, conda_environment, requirement_bounds

#: The edition's own files, copied as they are (some under another name, below).
EDITION = Path(__file__).with_name("edition")
#: Files of ``EDITION`` named otherwise there, lest they act here (a .gitignore of this folder,
#: a pyproject.toml that tools would take for this folder's project).
RENAMED = {"gitignore": ".gitignore", "pyproject.toml.in": "pyproject.toml"}
#: Files of the edition that are programs.
EXECUTABLE = frozenset({Path("postBuild")})
#: The course's JupyterLab settings (no news prompt), shipped as they are.
LAB_SETTINGS = Path("jupyter", "chainrule.json")
#: The edition's copy of grader/kernel_setup.py, run by its nbgrader_config.py for Validate;
#: its presence also marks a folder as an edition that publishing may replace.
KERNEL_SETUP = Path("nbgrader_kernel_setup.py")
ENVIRONMENT_HEADER = (
    "The conda route (and Binder): conda env create -f environment.yml, then ./postBuild.\n"
    "Made by `python -m grader publish` from requirements.txt: the same packages and bounds."
)


def _tree(course: Course, folder: Path, into: str) -> dict[Path, bytes]:
    """The files of ``folder`` that nbgrader does not ignore, under ``into``."""
    return {Path(into) / name: path.read_bytes() for name, path in course.files(folder).items()}


def edition_files(course: Course) -> dict[Path, bytes]:
    """Every file of the student edition of ``course``: content by path in the edition."""
    release = course.directory("release")
    files = _tree(course, release, release.name)
    files |= _tree(course, course.root / REFERENCE_MODULE, REFERENCE_MODULE)
    for path in sorted(EDITION.iterdir()):
        if path.is_file():
            files[Path(RENAMED.get(path.name, path.name))] = path.read_bytes()
    files[LAB_SETTINGS] = (course.root / LAB_SETTINGS).read_bytes()
    files[KERNEL_SETUP] = Path(kernel_setup.__file__).read_bytes()
    student = course.root / STUDENT_REQUIREMENTS
    files[Path("requirements.txt")] = student.read_bytes()
    environment = conda_environment(
        requirement_bounds(student), name="chainrule", header=ENVIRONMENT_HEADER
    )
    files[Path("environment.yml")] = environment.encode()
    return dict(sorted(files.items()))


def _empty(destination: Path) -> None:
    """Make ``destination`` an empty folder, keeping its ``.git`` (the edition's repository).

    Only a new or empty folder, or one holding an edition, is emptied: anything else is refused.
    """
    if destination.exists() and not destination.is_dir():
        raise GraderError(f"{destination} is not a folder")
    destination.mkdir(parents=True, exist_ok=True)
    entries = [entry for entry in destination.iterdir() if entry.name != ".git"]
    if entries and not (destination / KERNEL_SETUP).is_file():
        raise GraderError(
            f"{destination} is not empty and holds no student edition: publish into a new or "
            "empty folder, or a clone of the edition's repository"
        )
    for entry in entries:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def publish(course: Course, destination: Path) -> dict[Path, bytes]:
    """Write the student edition of ``course`` into ``destination`` (everything there but
    ``.git`` replaced) and return its files; raise GraderError, writing nothing, when the
    edition would leak anything of :func:`grader.leakscan.secrets`."""
    files = edition_files(course)
    problems = leaks(files, secrets(course))
    if problems:
        raise GraderError(
            "the student edition would leak what students must not see:\n  - "
            + "\n  - ".join(problems)
        )
    _empty(destination)
    for name, content in files.items():
        path = destination / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        path.chmod(0o755 if name in EXECUTABLE else 0o644)
    return files
