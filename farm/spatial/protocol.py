"""The interface every spatial index implements. Names are stable: the engine and the benchmarks use them."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from farm.spatial.config import SpatialIndexKind, UpdateMode
from farm.spatial.neighbors import Neighbors
from farm.spatial.stats import IndexStats

__all__ = ["SpatialIndex"]


@runtime_checkable
class SpatialIndex(Protocol):
    """A set of ``n`` 2-D points, addressed by row ``0..n-1``, answering neighbourhood queries.

    Every result is made of integer rows into the caller's position array. Queries see every
    update made before them (a batched index flushes at the start of a query).
    """

    kind: SpatialIndexKind

    @property
    def update_mode(self) -> UpdateMode:
        """When updates reach the structure (immediately, or queued until a query or flush)."""
        ...

    @property
    def positions(self) -> np.ndarray:
        """``(n, 2) float64`` current positions (read only; pending updates applied)."""
        ...

    def __len__(self) -> int:
        """Number of indexed points."""
        ...

    def build(self, positions: np.ndarray) -> None:
        """Index exactly these ``(n, 2)`` positions; no rebuild when they equal the current ones."""
        ...

    def update(self, rows: np.ndarray, new_positions: np.ndarray) -> None:
        """Move the points at ``(r,)`` rows to ``(r, 2)`` new positions (queued in batched mode)."""
        ...

    def insert(self, new_positions: np.ndarray) -> np.ndarray:
        """Append ``(r, 2)`` points; returns their ``(r,) int64`` rows ``n..n+r-1``."""
        ...

    def remove(self, rows: np.ndarray) -> None:
        """Drop the points at ``rows``; the others keep their order and are renumbered ``0..``."""
        ...

    def flush(self) -> None:
        """Apply every queued update and bring the structure up to date."""
        ...

    def query_radius(self, points: np.ndarray, radius: float) -> Neighbors | np.ndarray:
        """Rows within ``radius`` of each query point.

        Rows with ``dx*dx + dy*dy <= radius*radius`` for each of ``(m, 2)`` points
        as :class:`Neighbors`; a single ``(2,)`` point gives one sorted ``int64`` array.
        """
        ...

    def count_radius(self, points: np.ndarray, radius: float) -> np.ndarray:
        """``(m,) int64`` number of rows within ``radius`` of each point."""
        ...

    def query_nearest(self, points: np.ndarray, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest rows of each query point, with their distances.

        ``(distances (m, k) float64, rows (m, k) int64)`` of the ``k`` nearest rows, ties broken
        by the lower row; missing neighbours (``k > n``) are ``inf`` and ``-1``.
        """
        ...

    def query_range(self, bounds: np.ndarray) -> Neighbors | np.ndarray:
        """Rows inside each closed query box.

        Rows inside the closed box ``(xmin, ymin, xmax, ymax)``: a sorted array for one ``(4,)``
        box, :class:`Neighbors` for ``(m, 4)`` boxes.
        """
        ...

    def stats(self) -> IndexStats:
        """Counters of the index's upkeep (rebuilds, refreshes, flushes, pending updates)."""
        ...
