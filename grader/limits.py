"""What grading one submission may use: the one set of limits, from the command line to the
sandbox.

``python -m grader autograde --timeout --cell-timeout --memory-limit`` makes a :class:`Limits`;
the grading process (:mod:`grader.worker`) hands it to nbgrader through the course's
configuration (:meth:`grader.course.Course.config`: ``Execute.timeout`` and
``TrustedExecute``'s options), where :class:`grader.execute.TrustedExecute` reads it back and
passes it to the trusted run (:func:`grader.trusted.recheck.run_submission`) and its sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Wall-clock seconds for the whole submission.
DEFAULT_TIMEOUT = 600.0
#: Seconds for one notebook cell and one test when the course's configuration sets none
#: (``c.Execute.timeout`` of nbgrader_config.py sets the same).
DEFAULT_CELL_TIMEOUT = 60.0
#: Bytes of address space of a grading process and of its sandbox.
DEFAULT_MEMORY = 4 * 1024**3
#: Bytes of output the sandbox keeps, and the largest file it may write.
DEFAULT_OUTPUT = 1024**2
#: The least memory Python, numpy and nbgrader start in.
MIN_MEMORY = 256 * 1024**2


@dataclass(frozen=True)
class Limits:
    """What grading one submission may use. Times in seconds, sizes in bytes.

    Bad values raise ValueError naming the field and what it must be.
    """

    timeout: float = DEFAULT_TIMEOUT
    """Wall time of the whole submission: its cells, every test, the sandbox's restarts."""
    cell_timeout: float | None = None
    """Wall time of one notebook cell in the sandbox, and of one test. None: ``Execute.timeout``
    of the course's configuration where nbgrader grades, else :data:`DEFAULT_CELL_TIMEOUT`."""
    memory: int = DEFAULT_MEMORY
    """Address space (``RLIMIT_AS``) of the grading process and of its sandbox."""
    output: int = DEFAULT_OUTPUT
    """Output the sandbox keeps in its log, and the largest file it may write
    (``RLIMIT_FSIZE``)."""
    isolation: bool = True
    """Whether the sandbox runs in bubblewrap (``--no-isolation`` turns it off: the student's
    code can then read the course)."""

    def __post_init__(self) -> None:
        if not self.timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {self.timeout}")
        if self.cell_timeout is not None and not self.cell_timeout >= 1:
            raise ValueError(f"cell_timeout must be at least 1 second, got {self.cell_timeout}")
        if self.memory < MIN_MEMORY:
            raise ValueError(f"memory must be at least 256 MiB, got {self.memory} bytes")
        if self.output < 1:
            raise ValueError(f"output must be a positive number of bytes, got {self.output}")

    @property
    def cell_seconds(self) -> float:
        """The seconds one cell or one test may run (``cell_timeout`` or its default)."""
        return DEFAULT_CELL_TIMEOUT if self.cell_timeout is None else float(self.cell_timeout)
