"""A grid of regions that records where positions changed since the last rebuild."""

from __future__ import annotations

import math

import numpy as np

from farm.spatial.checks import Bounds

__all__ = ["DirtyRegionGrid"]


class DirtyRegionGrid:
    """A grid of square regions flagging where positions changed.

    Square regions of side ``region_size`` over ``frame``; positions outside the frame count in
    the nearest edge region. The side grows when the grid would exceed about a million regions.

    Attributes:
        dirty: ``(rows, cols) bool``, True where a position changed (old or new location).
    """

    def __init__(self, frame: Bounds, region_size: float) -> None:
        """A clean grid of ``region_size`` squares over ``frame`` ``(xmin, ymin, xmax, ymax)``."""
        self.frame = frame
        xmin, ymin, xmax, ymax = frame
        # Keep the grid at most about a million regions, whatever the frame.
        self.region_size = max(float(region_size), math.sqrt((xmax - xmin) * (ymax - ymin) / float(1 << 20)))
        self._inverse = 1.0 / self.region_size
        self.columns = max(1, math.floor((xmax - xmin) * self._inverse) + 1)
        self.rows = max(1, math.floor((ymax - ymin) * self._inverse) + 1)
        self.dirty = np.zeros((self.rows, self.columns), dtype=bool)
        self._count: int | None = 0

    def region_ids(self, positions: np.ndarray) -> np.ndarray:
        """``(n,) int64`` flat region id of each ``(n, 2)`` position."""
        xmin, ymin = self.frame[0], self.frame[1]
        column = np.clip(np.floor((positions[:, 0] - xmin) * self._inverse), 0, self.columns - 1).astype(np.int64)
        row = np.clip(np.floor((positions[:, 1] - ymin) * self._inverse), 0, self.rows - 1).astype(np.int64)
        return row * self.columns + column

    def mark(self, positions: np.ndarray) -> None:
        """Flag the regions holding the ``(n, 2)`` positions."""
        if len(positions):
            self.dirty.reshape(-1)[self.region_ids(positions)] = True
            self._count = None

    def mark_all(self) -> None:
        """Flag every region."""
        self.dirty[:] = True
        self._count = self.dirty.size

    def clear(self) -> None:
        """Unflag every region."""
        self.dirty[:] = False
        self._count = 0

    @property
    def count(self) -> int:
        """Number of dirty regions."""
        if self._count is None:
            self._count = int(np.count_nonzero(self.dirty))
        return self._count

    @property
    def fraction(self) -> float:
        """Share of regions that are dirty."""
        return self.count / self.dirty.size
