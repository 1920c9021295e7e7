"""PRAGMA statements of each :class:`~farm.storage.config.PragmaProfile`."""

from __future__ import annotations

import sqlite3

from farm.storage.config import PragmaProfile

__all__ = ["PROFILE_PRAGMAS", "apply_profile"]

PROFILE_PRAGMAS: dict[PragmaProfile, tuple[str, ...]] = {
    PragmaProfile.BALANCED: ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL"),
    PragmaProfile.PERFORMANCE: ("PRAGMA journal_mode=MEMORY", "PRAGMA synchronous=OFF"),
    PragmaProfile.SAFETY: ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL"),
    # Applied to the in-memory database the run is written to; the file gets a backup on close.
    PragmaProfile.MEMORY: ("PRAGMA journal_mode=MEMORY", "PRAGMA synchronous=OFF"),
}

# Applied under every profile: temporary B-trees (index builds, sorts) stay in memory.
_COMMON = ("PRAGMA temp_store=MEMORY",)


def apply_profile(connection: sqlite3.Connection, profile: PragmaProfile) -> None:
    """Run the profile's PRAGMAs on ``connection`` (outside any transaction)."""
    for statement in _COMMON + PROFILE_PRAGMAS[profile]:
        connection.execute(statement).fetchall()
