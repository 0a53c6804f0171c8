"""What grading one submission may use: its wall-clock time, each cell's, and its memory."""

from __future__ import annotations

from dataclasses import dataclass

#: Default wall-clock limit for grading one submission, in seconds.
DEFAULT_TIMEOUT = 600.0
#: Default address-space limit of a grading process and of the processes it starts, in bytes.
DEFAULT_MEMORY_LIMIT = 4 * 1024**3


@dataclass(frozen=True)
class Limits:
    """What grading one submission may use."""

    timeout: float = DEFAULT_TIMEOUT
    """Wall-clock seconds for the whole submission (its grading process is killed after it)."""
    cell_timeout: int | None = None
    """Seconds for one cell and one test (default: ``Execute.timeout``
    of nbgrader_config.py)."""
    memory: int = DEFAULT_MEMORY_LIMIT
    """Bytes of address space of each process (``RLIMIT_AS``)."""
    isolation: bool = True
    """Whether the sandbox runs in bubblewrap (``--no-isolation`` turns it off)."""

    def __post_init__(self) -> None:
        if not self.timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {self.timeout}")
        if self.cell_timeout is not None and self.cell_timeout < 1:
            raise ValueError(f"cell_timeout must be at least 1 second, got {self.cell_timeout}")
        if self.memory < 256 * 1024**2:
            raise ValueError(f"memory must be at least 256 MiB, got {self.memory} bytes")
