"""Configuration of the SQLite simulation log."""

from __future__ import annotations

from dataclasses import dataclass

from farm.utils.validation import require_int_at_least

__all__ = ["StorageConfig"]


@dataclass(frozen=True)
class StorageConfig:
    """Attributes:
    db_path: SQLite file, ``":memory:"``, or None to log nothing.
    batch_size: rows buffered per table before a flush.
    resource_interval: log resource node amounts every this many steps.
    """

    db_path: str | None = None
    batch_size: int = 1000
    resource_interval: int = 10

    def __post_init__(self) -> None:
        if self.db_path is not None and (not isinstance(self.db_path, str) or not self.db_path):
            raise ValueError(f"storage.db_path must be a non-empty path or ':memory:', got {self.db_path!r}")
        require_int_at_least("storage", "batch_size", self.batch_size, 1)
        require_int_at_least("storage", "resource_interval", self.resource_interval, 1)

    @property
    def enabled(self) -> bool:
        return self.db_path is not None
