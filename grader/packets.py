"""The bytes a submission travels as to its grading process, and its grade comes back as.

A :class:`GradingTask` holds everything a grading machine needs besides its own copy of the
course: the submitted files, a gradebook holding only the assignment (its notebooks and cells,
as the course's gradebook has them), the seeds of the hidden tests (never the secret), the
limits, and the course's grading inputs (:mod:`grader.inputs`) the machine must have the same
of. A :class:`GradingResult` comes back: graded (each cell's grade and comment as nbgrader
saved them, each test's score and message, the autograded folder's files), failed (the
submission's fault: a reason) or not graded (the machine's fault: an error).

Both are strict JSON with a format tag, files in base64: no pickle, so reading a packet runs
no code of its sender's. A decoder accepts only the exact keys and types of its format, paths
relative and inside their folder, and names what it refuses (:class:`PacketError`); the same
bytes go to a local grading process and to a Dask worker (:mod:`grader.cluster`).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from grader.limits import Limits
from grader.submissions import GradedTest, Submission

TASK_FORMAT = "chainrule-grading-task/1"
RESULT_FORMAT = "chainrule-grading-result/1"
#: Largest packet either side reads, in bytes.
MAX_PACKET = 512 * 1024**2

_NUMBER = (int, float)
_TEXT = (str,)
_OPTIONAL_TEXT = (str, type(None))


class PacketError(ValueError):
    """Bytes that are not a packet of the expected format; the message says what is wrong."""


@dataclass(frozen=True)
class GradingTask:
    """One submission to grade, and what its grading process needs besides the course."""

    submission: Submission
    files: dict[str, bytes]
    """The submitted folder: relative path -> content."""
    gradebook: bytes
    """An SQLite gradebook holding only the assignment (:mod:`grader.tasks`)."""
    seeds: dict[str, dict[str, str]]
    """Notebook -> grade id -> seed of each hidden test (:func:`grader.secret.submission_seeds`)."""
    limits: Limits
    inputs: dict[str, str]
    """The coordinator's grading inputs (:func:`grader.inputs.grading_inputs`)."""

    def to_bytes(self) -> bytes:
        """The task as strict JSON."""
        return _dump(
            {
                "format": TASK_FORMAT,
                "submission": asdict(self.submission),
                "files": _files_out(self.files),
                "gradebook": base64.b64encode(self.gradebook).decode("ascii"),
                "seeds": self.seeds,
                "limits": asdict(self.limits),
                "inputs": self.inputs,
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> GradingTask:
        """The task ``data`` holds, or PacketError."""
        packet = _fields(
            _load(data, TASK_FORMAT),
            {
                "format": _TEXT,
                "submission": (dict,),
                "files": (dict,),
                "gradebook": _TEXT,
                "seeds": (dict,),
                "limits": (dict,),
                "inputs": (dict,),
            },
            "task",
        )
        limits = _fields(
            packet["limits"],
            {
                "timeout": _NUMBER,
                "cell_timeout": (*_NUMBER, type(None)),
                "memory": (int,),
                "output": (int,),
                "isolation": (bool,),
            },
            "task.limits",
        )
        seeds = {
            notebook: _mapping(tests, _TEXT, f"task.seeds[{notebook!r}]")
            for notebook, tests in _mapping(packet["seeds"], (dict,), "task.seeds").items()
        }
        try:
            checked = Limits(**limits)
        except ValueError as error:
            raise PacketError(f"task.limits: {error}") from None
        return cls(
            submission=_submission(packet["submission"]),
            files=_files_in(packet["files"], "task.files"),
            gradebook=_base64(packet["gradebook"], "task.gradebook"),
            seeds=seeds,
            limits=checked,
            inputs=_mapping(packet["inputs"], _TEXT, "task.inputs"),
        )


@dataclass(frozen=True)
class CellGrade:
    """The grade nbgrader saved for one grade or task cell of a submitted notebook."""

    notebook: str
    cell: str
    auto_score: float | None
    needs_manual_grade: bool


@dataclass(frozen=True)
class CellComment:
    """The comment nbgrader saved for one answer or task cell of a submitted notebook."""

    notebook: str
    cell: str
    auto_comment: str | None


@dataclass(frozen=True)
class GradingResult:
    """How grading one submission went: graded when both ``failure`` and ``error`` are None."""

    failure: str | None = None
    """Why the submission itself could not be graded (recorded as score 0 with this reason)."""
    error: str | None = None
    """Why the grading machine did not grade it (nothing recorded: grade it again)."""
    isolated: bool = True
    """Whether the student's code ran in bubblewrap."""
    grades: tuple[CellGrade, ...] = ()
    comments: tuple[CellComment, ...] = ()
    tests: tuple[GradedTest, ...] = ()
    """Each autograded test's score and the reason for every lost point."""
    files: dict[str, bytes] = field(default_factory=dict)
    """The autograded folder: relative path -> content."""
    phases: dict[str, float] = field(default_factory=dict)
    """Seconds spent in each phase of :data:`grader.phases.PHASES`."""
    seconds: float = 0.0
    """Wall time of the grading process."""

    def to_bytes(self) -> bytes:
        """The result as strict JSON."""
        return _dump(
            {
                "format": RESULT_FORMAT,
                "failure": self.failure,
                "error": self.error,
                "isolated": self.isolated,
                "grades": [asdict(grade) for grade in self.grades],
                "comments": [asdict(comment) for comment in self.comments],
                "tests": [asdict(test) for test in self.tests],
                "files": _files_out(self.files),
                "phases": self.phases,
                "seconds": self.seconds,
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> GradingResult:
        """The result ``data`` holds, or PacketError."""
        packet = _fields(
            _load(data, RESULT_FORMAT),
            {
                "format": _TEXT,
                "failure": _OPTIONAL_TEXT,
                "error": _OPTIONAL_TEXT,
                "isolated": (bool,),
                "grades": (list,),
                "comments": (list,),
                "tests": (list,),
                "files": (dict,),
                "phases": (dict,),
                "seconds": _NUMBER,
            },
            "result",
        )
        grade = {"notebook": _TEXT, "cell": _TEXT, "auto_score": (int, float, type(None))}
        comment = {"notebook": _TEXT, "cell": _TEXT, "auto_comment": _OPTIONAL_TEXT}
        test = {
            "notebook": _TEXT,
            "grade_id": _TEXT,
            "score": _NUMBER,
            "max_score": _NUMBER,
            "message": _TEXT,
            "mistake": _TEXT,
        }
        return cls(
            failure=packet["failure"],
            error=packet["error"],
            isolated=packet["isolated"],
            grades=tuple(
                CellGrade(**_fields(g, {**grade, "needs_manual_grade": (bool,)}, "result.grades"))
                for g in packet["grades"]
            ),
            comments=tuple(
                CellComment(**_fields(c, comment, "result.comments")) for c in packet["comments"]
            ),
            tests=tuple(GradedTest(**_fields(t, test, "result.tests")) for t in packet["tests"]),
            files=_files_in(packet["files"], "result.files"),
            phases={
                k: float(v) for k, v in _mapping(packet["phases"], _NUMBER, "result.phases").items()
            },
            seconds=float(packet["seconds"]),
        )


def _dump(packet: dict[str, Any]) -> bytes:
    return json.dumps(packet, allow_nan=False, separators=(",", ":")).encode()


def _load(data: bytes, expected: str) -> Any:
    """The JSON value of a packet of format ``expected``."""
    if not isinstance(data, bytes):
        raise PacketError(f"a packet must be bytes, got {type(data).__name__}")
    if len(data) > MAX_PACKET:
        raise PacketError(f"a packet must be at most {MAX_PACKET} bytes, got {len(data)}")
    try:
        packet = json.loads(data)
    except (ValueError, RecursionError) as error:
        raise PacketError(f"a packet must be JSON ({error})") from None
    found = packet.get("format") if isinstance(packet, dict) else None
    if found != expected:
        raise PacketError(
            f"expected a packet of format {expected}, got {found!r} (a different version of "
            "the grader on either side?)"
        )
    return packet


def _fields(value: object, kinds: dict[str, tuple[type, ...]], what: str) -> dict[str, Any]:
    """``value``, an object with exactly the keys of ``kinds``, each of one of its exact types."""
    if type(value) is not dict or value.keys() != kinds.keys():
        raise PacketError(f"{what} must be an object with the keys {', '.join(sorted(kinds))}")
    for key, types in kinds.items():
        if type(value[key]) not in types:
            expected = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            raise PacketError(f"{what}.{key} must be {expected}")
    return value


def _mapping(value: object, types: tuple[type, ...], what: str) -> dict[str, Any]:
    """``value``, an object whose values are of one of the exact ``types``."""
    if type(value) is not dict or any(type(item) not in types for item in value.values()):
        names = " or ".join(t.__name__ for t in types)
        raise PacketError(f"{what} must be an object of {names} values")
    return value


def _submission(value: object) -> Submission:
    names = _fields(value, {"student": _TEXT, "assignment": _TEXT}, "task.submission")
    for key, name in names.items():
        if name in ("", ".", "..") or any(c in name for c in "/\\\0"):
            raise PacketError(f"task.submission.{key} must be a folder name, got {name!r}")
    return Submission(**names)


def _base64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise PacketError(f"{what} must be base64") from None


def _files_out(files: dict[str, bytes]) -> dict[str, str]:
    return {path: base64.b64encode(data).decode("ascii") for path, data in files.items()}


def _files_in(value: object, what: str) -> dict[str, bytes]:
    """Relative path -> content; a path that is absolute or leaves its folder is refused."""
    files = {}
    for path, text in _mapping(value, _TEXT, what).items():
        parts = PurePosixPath(path).parts
        if not parts or parts[0] == "/" or ".." in parts or "\\" in path or "\0" in path:
            raise PacketError(f"{what}: {path!r} is not a relative path inside its folder")
        files[path] = _base64(text, f"{what}[{path!r}]")
    return files


def folder_files(folder: Path) -> dict[str, bytes]:
    """Relative path -> content of every file under ``folder`` (symbolic links left out)."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


def write_files(files: dict[str, bytes], folder: Path) -> None:
    """Write ``files`` (relative path -> content, as decoded) under ``folder``."""
    for path, data in files.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
