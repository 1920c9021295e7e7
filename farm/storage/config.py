"""Configuration of the SQLite simulation log."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from farm.utils.validation import coerce_enum, require_int_at_least

__all__ = ["PragmaProfile", "WriteMode", "StorageConfig", "MEMORY_PATH"]

# The path sqlite reads as "a private database in memory".
MEMORY_PATH = ":memory:"


class PragmaProfile(Enum):
    """Durability against speed, as a set of PRAGMAs applied when the database is opened.

    BALANCED: WAL journal, synchronous NORMAL. Survives a killed process; an OS crash may lose
        the last commits.
    PERFORMANCE: rollback journal in memory, synchronous OFF. Fastest on disk; a process killed
        in the middle of a commit may leave a corrupt file.
    SAFETY: WAL journal, synchronous FULL. Every commit is on disk when it returns.
    MEMORY: the whole database lives in memory while the run lasts and is copied to ``db_path``
        with sqlite's backup API on close; a killed process loses the run.
    """

    BALANCED = "balanced"
    PERFORMANCE = "performance"
    SAFETY = "safety"
    MEMORY = "memory"


class WriteMode(Enum):
    """How buffered rows reach sqlite.

    BATCHED: one ``executemany`` per table and flush over multi-row ``INSERT`` statements.
    ROW_AT_A_TIME: unbuffered; every row is one ``INSERT`` committed on its own as soon as it is
        logged (``log_step`` flushes every step). The reference every comparison starts from.
    """

    BATCHED = "batched"
    ROW_AT_A_TIME = "row_at_a_time"


@dataclass(frozen=True)
class StorageConfig:
    """Where and how a run is logged to SQLite.

    Attributes:
        db_path: SQLite file, ``":memory:"``, or None to log nothing. One file holds many runs.
        batch_size: rows buffered per table before a flush (a flush writes whole steps only).
        resource_interval: log resource node amounts every this many steps.
        flush_interval: flush at least every this many steps, however few rows are buffered.
        write_mode: batched column writes, or one committed INSERT per row (the slow reference).
        pragma_profile: durability against speed; see :class:`PragmaProfile`.
        persist_path: with ``db_path=":memory:"``, copy the database to this file on close.
        asynchronous: write on a background thread; ``log_step`` only hands buffers over.
        queue_size: flushes the background writer may have waiting before ``log_step`` blocks.
    """

    db_path: str | None = None
    batch_size: int = 1000
    resource_interval: int = 10
    flush_interval: int = 100
    write_mode: WriteMode = WriteMode.BATCHED
    pragma_profile: PragmaProfile = PragmaProfile.BALANCED
    persist_path: str | None = None
    asynchronous: bool = False
    queue_size: int = 8

    def __post_init__(self) -> None:
        if self.db_path is not None and (not isinstance(self.db_path, str) or not self.db_path):
            raise ValueError(f"storage.db_path must be a non-empty path or ':memory:', got {self.db_path!r}")
        require_int_at_least("storage", "batch_size", self.batch_size, 1)
        require_int_at_least("storage", "resource_interval", self.resource_interval, 1)
        require_int_at_least("storage", "flush_interval", self.flush_interval, 1)
        require_int_at_least("storage", "queue_size", self.queue_size, 1)
        object.__setattr__(self, "write_mode", coerce_enum("storage", "write_mode", WriteMode, self.write_mode))
        object.__setattr__(
            self, "pragma_profile", coerce_enum("storage", "pragma_profile", PragmaProfile, self.pragma_profile)
        )
        if not isinstance(self.asynchronous, bool):
            raise ValueError(f"storage.asynchronous must be true or false, got {self.asynchronous!r}")
        if self.persist_path is not None:
            if not isinstance(self.persist_path, str) or not self.persist_path or self.persist_path == MEMORY_PATH:
                raise ValueError(f"storage.persist_path must be a file path, got {self.persist_path!r}")
            if self.db_path != MEMORY_PATH:
                raise ValueError(
                    f"storage.persist_path is only used with storage.db_path=':memory:', "
                    f"got persist_path={self.persist_path!r} with db_path={self.db_path!r}"
                )

    @property
    def enabled(self) -> bool:
        """True when a database is configured (``db_path`` is not None)."""
        return self.db_path is not None

    @property
    def in_memory(self) -> bool:
        """True when the run is written to a database in memory (``":memory:"`` or MEMORY profile)."""
        return self.db_path == MEMORY_PATH or self.pragma_profile is PragmaProfile.MEMORY

    @property
    def file_path(self) -> str | None:
        """The file that holds the run once the logger is closed, or None when nothing does."""
        if self.db_path == MEMORY_PATH:
            return self.persist_path
        return self.db_path
