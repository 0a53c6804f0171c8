"""The repository keeps its promises: one dependency list, CI runs the README's test command."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from conftest import file_ranks, graded_rank

from grader.requirements import (
    STUDENT_REQUIREMENTS,
    conda_environment,
    parse_bound,
    requirement_bounds,
)

ROOT = Path(__file__).resolve().parents[1]


def conda_bounds(text: str) -> dict[str, str]:
    """Package to lower bound of the conda dependencies of an environment.yml, Python aside."""
    env = yaml.safe_load(text)
    bounds = dict(filter(None, (parse_bound(d) for d in env["dependencies"] if isinstance(d, str))))
    bounds.pop("python")
    return bounds


def test_environment_yml_has_the_same_packages_and_bounds_as_requirements():
    pip_bounds = requirement_bounds(ROOT / "requirements.txt")
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert conda_bounds((ROOT / "environment.yml").read_text()) == pip_bounds
    assert {"numpy", "matplotlib", "jupyterlab", "nbgrader", "ipywidgets", "pytest"} <= set(
        pip_bounds
    )
    assert "scikit-learn" in pip_bounds
    assert {"pip": ["-e ."]} in env["dependencies"]


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make lab" in readme
    assert re.search(r"^make test$", ci, re.MULTILINE)


def test_the_instructors_list_includes_the_students_which_holds_only_what_notebooks_need():
    student = requirement_bounds(ROOT / STUDENT_REQUIREMENTS)
    everything = requirement_bounds(ROOT / "requirements.txt")
    assert student.items() <= everything.items()
    assert {"numpy", "matplotlib", "jupyterlab", "ipywidgets", "ipympl", "nbgrader"} <= set(student)
    tools = {
        "pytest",
        "pytest-xdist",
        "hypothesis",
        "playwright",
        "ruff",
        "psycopg2-binary",
        "distributed",
    }
    assert not tools & set(student)


def test_the_conda_environment_made_from_a_list_has_its_packages_and_bounds():
    bounds = requirement_bounds(ROOT / STUDENT_REQUIREMENTS)
    text = conda_environment(bounds, name="chainrule", header="a\nb")
    assert text.startswith("# a\n# b\n")
    assert conda_bounds(text) == bounds


def test_a_requirement_without_lower_bound_is_refused(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("numpy>=1.24\nscipy\n")
    with pytest.raises(ValueError, match="requirements.txt:2"):
        requirement_bounds(tmp_path / "requirements.txt")


def test_the_files_that_read_the_graded_course_run_last(request: pytest.FixtureRequest) -> None:
    """tests/conftest.py orders the collected files: those that wait for the graded course
    after all others, so that no worker waits for it while other files are left."""
    order = list(file_ranks(request.session.items).values())
    assert order == sorted(order)
    assert graded_rank(request.node) == 0
