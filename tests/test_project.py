"""The repository keeps its promises: one dependency list, CI runs the README's test command."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def requirement_bounds(lines: list[str]) -> dict[str, str]:
    bounds = {}
    for line in lines:
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)>=([0-9.]+)", line.split("#")[0].strip())
        if match:
            bounds[match[1].lower()] = match[2]
    return bounds


def test_environment_yml_has_the_same_packages_and_bounds_as_requirements():
    pip_bounds = requirement_bounds((ROOT / "requirements.txt").read_text().splitlines())
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda_lines = [dep.replace(" ", "") for dep in env["dependencies"] if isinstance(dep, str)]
    conda_bounds = requirement_bounds(conda_lines)
    conda_bounds.pop("python")
    assert pip_bounds == conda_bounds
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
