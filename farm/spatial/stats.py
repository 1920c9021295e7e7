"""Counters an index reports about its own upkeep."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["IndexStats"]


@dataclass(frozen=True)
class IndexStats:
    """Counters of one spatial index's work since construction.

    Attributes:
        size: points indexed (pending updates not yet applied do not change it).
        rebuild_count: full rebuilds of the structure since construction (the first build counts).
        refresh_count: partial refreshes (only moved/inserted/removed points re-filed).
        flush_count: times the batched queue was applied.
        pending_updates: updated rows queued and not yet applied.
        dirty_regions: regions in which positions changed since the last rebuild.
    """

    size: int
    rebuild_count: int
    refresh_count: int
    flush_count: int
    pending_updates: int
    dirty_regions: int
