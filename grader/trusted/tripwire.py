"""Anti-delegation tripwires: which code a graded function may not run, and a watch that sees it.

A graded call (the grader calling one of the student's functions) runs under a profile hook
(``sys.setprofile``) that recognizes forbidden code by the identity of its code object, file name
plus first line plus name, so a captured reference, ``importlib.reload`` or a ``getattr`` trick
still lands on the same code. An audit hook (``sys.addaudithook``, which code cannot remove)
flags a graded call that replaces the profile hook, starts a process, or uses ``ctypes``.

Both hooks live in the sandbox child, the student's own process: they are tripwires that catch
delegation, not a security boundary (see grader/SECURITY.md).
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType, FunctionType, ModuleType
from typing import Any

DEFAULT_FORBIDDEN = ("chainrule.gradcheck",)
"""Forbidden in every graded call: the finite-difference helpers compute any derivative."""

_PROCESS_EVENTS = frozenset(
    {"subprocess.Popen", "os.system", "os.fork", "os.forkpty", "os.posix_spawn", "os.exec"}
)

CodeKey = tuple[str, int, str]


def resolve(name: str) -> object:
    """The module, function or class a dotted ``name`` such as ``chainrule.functional.softmax``
    denotes. Raises ValueError when it names nothing."""
    parts = name.split(".")
    for split in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        try:
            for attribute in parts[split:]:
                obj = getattr(obj, attribute)
        except AttributeError:
            break
        return obj
    raise ValueError(f"forbidden name {name!r} does not name a module, function or class")


def _code_keys(obj: object, name: str) -> Iterator[tuple[CodeKey, str]]:
    """The code identities of a function, or of every function defined in a class."""
    if isinstance(obj, type):
        for attribute, member in vars(obj).items():
            if isinstance(member, (staticmethod, classmethod)):
                member = member.__func__
            elif isinstance(member, property):
                member = member.fget
            yield from _code_keys(member, f"{name}.{attribute}")
        return
    function = inspect.unwrap(obj) if callable(obj) else obj
    if isinstance(function, FunctionType):
        code = function.__code__
        yield (code.co_filename, code.co_firstlineno, code.co_name), name


class Forbidden:
    """The code one test forbids: whole modules (by file) and single functions or classes."""

    def __init__(self, names: list[str]) -> None:
        self.files: dict[str, str] = {}
        self.codes: dict[CodeKey, str] = {}
        for name in [*DEFAULT_FORBIDDEN, *names]:
            obj = resolve(name)
            if isinstance(obj, ModuleType):
                self.files[inspect.getfile(obj)] = name
            else:
                self.codes.update((key, shown) for key, shown in _code_keys(obj, name))
        self.filenames = frozenset(self.files) | {filename for filename, _, _ in self.codes}
        """Every file holding forbidden code: a quick first test."""

    def match(self, code: Any) -> str | None:
        """The dotted name of the forbidden code ``code`` is, or None."""
        if code.co_filename not in self.filenames:
            return None
        module = self.files.get(code.co_filename)
        if module is not None:
            return f"{module}.{code.co_name}"
        return self.codes.get((code.co_filename, code.co_firstlineno, code.co_name))


def reason(name: str) -> str:
    """Why calling the forbidden ``name`` costs the test, for the student."""
    if name.startswith(DEFAULT_FORBIDDEN):
        return "a finite-difference helper: a graded function must compute its result itself"
    return "the reference answer of this exercise: write your own"


class Watch:
    """Runs graded calls under the tripwires and collects what they saw.

    ``forbidden[i]`` is the code test ``i`` forbids; :meth:`begin_test` selects it.
    """

    def __init__(self, forbidden: list[Forbidden]) -> None:
        self._forbidden = forbidden
        self._current = forbidden[0] if forbidden else Forbidden([])
        self._depth = 0
        self._installing = False
        self._label = ""
        self._violations: list[str] = []
        self._setprofile = sys.setprofile
        sys.addaudithook(self._audit)

    def begin_test(self, index: int) -> None:
        """Forbid, from now on, what test ``index`` forbids."""
        self._current = self._forbidden[index]
        self._violations.clear()

    def take_violations(self) -> list[str]:
        """The violations seen since the last call, forgotten afterwards."""
        seen, self._violations = self._violations, []
        return seen

    @contextmanager
    def graded(self, label: str) -> Iterator[None]:
        """Run the body as a graded call of ``label`` (nested calls keep the outer label)."""
        if self._depth == 0:
            self._label = label
        self._depth += 1
        self._install(self._profile)
        try:
            yield
        finally:
            self._depth -= 1
            self._install(self._profile if self._depth else None)

    def _install(self, hook: Any) -> None:
        self._installing = True
        try:
            self._setprofile(hook)
        finally:
            self._installing = False

    def _flag(self, message: str) -> None:
        if message not in self._violations:
            self._violations.append(message)

    def _profile(self, frame: FrameType, event: str, arg: object) -> None:
        if event == "call":
            name = self._current.match(frame.f_code)
            if name is not None:
                self._flag(f"your {self._label} calls {name}, {reason(name)}")

    def _audit(self, event: str, args: tuple[Any, ...]) -> None:
        if not self._depth or self._installing:
            return
        if event in ("sys.setprofile", "sys.settrace"):
            self._flag(f"your {self._label} calls {event}, which tampers with the grader")
        elif event in _PROCESS_EVENTS:
            self._flag(f"your {self._label} starts another process, which the grader cannot watch")
        elif event.startswith("ctypes."):
            self._flag(f"your {self._label} uses ctypes, which can tamper with the grader")
