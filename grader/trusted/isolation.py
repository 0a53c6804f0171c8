"""The operating-system sandbox of the student's code: a bubblewrap (``bwrap``) mount namespace.

:func:`wrap` turns the command that starts the sandbox child into one that starts it inside
bubblewrap, where the child sees

* the Python runtime, read-only: ``/usr`` (and the ``/bin``, ``/lib`` links of a merged-usr
  system), the interpreter's installation (``sys.base_prefix``), the environment it runs in
  (``sys.prefix``: the venv and its site-packages), and the grader's own ``chainrule`` and
  ``grader`` packages under :data:`PACKAGES` (``PYTHONPATH``), so that neither the course root
  that holds them nor its path is there;
* its own working directory and home (the only places it can write), on a private ``/tmp``;
* its own ``/proc`` and ``/dev``, in a PID namespace of its own (it cannot see or signal the
  grader), with no network (not even loopback), no IPC or UTS with the host, a new session (no
  terminal), and death with the grading process (``--die-with-parent``).

Where the grader runs as root, the child drops to the unprivileged user ``nobody`` before any
student code runs (:func:`drop_privileges`), which clears its capabilities and lets
``RLIMIT_NPROC`` bind; elsewhere bubblewrap drops every capability itself.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import chainrule
import grader

#: The Debian (and Ubuntu, Fedora, Arch) package that provides ``bwrap``.
PACKAGE = "bubblewrap"
#: The user and group the child runs as when the grader runs as root.
NOBODY = 65534
#: Where the sandbox sees the grader's ``chainrule`` and ``grader`` packages (its PYTHONPATH).
PACKAGES = Path("/sandbox/packages")


class IsolationUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create namespaces on this machine."""


def _system_links() -> list[str]:
    """``--symlink`` or ``--ro-bind`` arguments for /bin, /sbin, /lib, /lib64 (merged /usr)."""
    arguments = []
    for name in ("bin", "sbin", "lib", "lib32", "lib64"):
        path = Path("/") / name
        if path.is_symlink():
            arguments += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            arguments += ["--ro-bind", str(path), str(path)]
    return arguments


def packages() -> dict[Path, Path]:
    """The grader's own ``chainrule`` and ``grader`` folders, and where the sandbox sees them."""
    return {
        Path(module.__file__).resolve().parent: PACKAGES / module.__name__
        for module in (chainrule, grader)
    }


def runtime_paths() -> list[Path]:
    """The directories of the Python runtime the child reads: never the course root."""
    prefixes = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}
    roots = sorted(prefixes - {Path("/usr"), Path("/")})
    # A prefix inside another bound directory (a venv under /usr/local...) needs no bind of its own.
    return [p for p in roots if not any(q != p and q in p.parents for q in roots)]


def wrap(command: Sequence[str], *, writable: Sequence[Path], workdir: Path) -> list[str]:
    """``command`` run inside bubblewrap, able to write only under ``writable``, in ``workdir``."""
    arguments = [
        bwrap_path(),
        "--die-with-parent",
        "--new-session",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--hostname",
        "sandbox",
        "--ro-bind",
        "/usr",
        "/usr",
        *_system_links(),
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--perms",
        "1777",
        "--tmpfs",
        "/tmp",
    ]
    if os.path.exists("/etc/ld.so.cache"):
        arguments += ["--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    binds = [("--ro-bind", path, path) for path in runtime_paths()]
    binds += [("--ro-bind", path, seen) for path, seen in packages().items()]
    binds += [("--bind", Path(path), Path(path)) for path in writable]
    made: set[Path] = {Path("/"), Path("/tmp")}
    for option, path, seen in binds:
        # bubblewrap makes missing parents 0700: an unprivileged child could not reach inside
        for parent in reversed(seen.parents):
            if parent not in made:
                made.add(parent)
                arguments += ["--perms", "0755", "--dir", str(parent)]
        arguments += [option, str(path), str(seen)]
    if os.geteuid() != 0:
        arguments += ["--cap-drop", "ALL"]
    return [*arguments, "--chdir", str(workdir), "--", *command]


def bwrap_path() -> str:
    """Where ``bwrap`` is. Raises IsolationUnavailable, naming the package, when it is not."""
    path = shutil.which("bwrap")
    if path is None:
        raise IsolationUnavailable(
            f"bubblewrap (bwrap) is not installed: install the {PACKAGE!r} package "
            f"(apt-get install {PACKAGE}), or grade with --no-isolation (student code then runs "
            "as the grading user and can read the course)"
        )
    return path


@functools.cache
def unavailable_reason() -> str | None:
    """Why this machine cannot run the sandbox in bubblewrap, or None when it can."""
    try:
        command = wrap(["/bin/true"], writable=[], workdir=Path("/"))
    except IsolationUnavailable as error:
        return str(error)
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return (
            f"bubblewrap cannot create its namespaces here ({done.stderr.strip()[:300]}): enable "
            "unprivileged user namespaces or run the grader as root, or grade with --no-isolation"
        )
    return None


def check_available() -> None:
    """Raise IsolationUnavailable when the sandbox cannot run in bubblewrap here."""
    reason = unavailable_reason()
    if reason is not None:
        raise IsolationUnavailable(reason)


def prepare_writable(paths: Sequence[Path]) -> None:
    """Give the child's writable directories to ``nobody`` when the grader runs as root."""
    if os.geteuid() != 0:
        return
    for path in paths:
        for folder, _, files in os.walk(path):
            os.chown(folder, NOBODY, NOBODY)
            for name in files:
                os.chown(os.path.join(folder, name), NOBODY, NOBODY)


def drop_privileges() -> None:
    """In the child, before student code: become ``nobody`` if running as root."""
    if os.geteuid() == 0:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
