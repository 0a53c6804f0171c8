"""The sandbox child's surroundings: an empty home and an environment of its own.

Nothing of the grader's environment is passed on: no paths to the course, no credentials.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import chainrule
from grader.trusted.isolation import PACKAGES

#: numpy's BLAS on one thread: the course's matrices are small, and idle OpenBLAS threads spin
#: (notebook 06 burns twice the CPU on two). Grading children run so, and so do the kernels of
#: ``grader html`` (grader/html.py).
ONE_BLAS_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@functools.cache
def child_pythonpath() -> str | None:
    """PYTHONPATH the child needs to import ``grader`` and ``chainrule`` (None if installed)."""
    probe = (
        "import importlib.util as u, sys; "
        "sys.exit(not (u.find_spec('grader.trusted') and u.find_spec('chainrule')))"
    )
    with tempfile.TemporaryDirectory() as home:
        env = child_environment(Path(home), pythonpath=None)
        found = subprocess.run([sys.executable, "-c", probe], env=env, cwd=home, check=False)
    if found.returncode == 0:
        return None
    roots = {Path(chainrule.__file__).resolve().parents[1], Path(__file__).resolve().parents[2]}
    return os.pathsep.join(sorted(str(root) for root in roots))


@functools.cache
def _font_caches() -> tuple[Path, ...]:
    """The grader's own matplotlib font cache files (building one takes a second or more)."""
    if importlib.util.find_spec("matplotlib") is None:
        return ()
    import matplotlib

    return tuple(sorted(Path(matplotlib.get_cachedir()).glob("fontlist-*.json")))


def _seed_home(home: Path) -> None:
    """Give the child's empty home a copy of the grader's matplotlib font cache: a copy, so
    that one submission cannot tamper with the cache another one reads."""
    cache = home / ".cache" / "matplotlib"
    cache.mkdir(parents=True, exist_ok=True)
    for path in _font_caches():
        shutil.copyfile(path, cache / path.name)


def child_environment(home: Path, pythonpath: str | None) -> dict[str, str]:
    """The child's whole environment: nothing of the grader's own is passed on."""
    env = {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.defpath.lstrip(":")]),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONSAFEPATH": "1",
        **ONE_BLAS_THREAD,
    }
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    return env


def prepare(home: Path, isolated: bool) -> dict[str, str]:
    """Fill the child's empty ``home`` and return the child's whole environment; ``isolated``:
    the child runs in bubblewrap, which shows it the grader's packages in one folder."""
    _seed_home(home)
    return child_environment(home, str(PACKAGES) if isolated else child_pythonpath())
