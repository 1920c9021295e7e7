"""Uniform-grid index: points sorted by cell id with numpy, one prefix-sum table of cell starts."""

from __future__ import annotations

import math

import numpy as np

from farm.spatial.base import BaseSpatialIndex, KeyedPointsMixin
from farm.spatial.checks import Bounds
from farm.spatial.config import SpatialIndexKind
from farm.spatial.ranges import expand_ranges
from farm.utils.validation import require_positive

__all__ = ["SpatialHashIndex"]

# The dense cell table holds at most max(_CELLS_PER_POINT * n, _MIN_CELL_CAP) cells; a smaller
# requested cell size is enlarged to respect it.
_CELLS_PER_POINT = 16
_MIN_CELL_CAP = 4096
# With an automatic cell size a query radius this many times the cell size re-grids the hash.
_REGRID_FACTOR = 4.0


class SpatialHashIndex(KeyedPointsMixin, BaseSpatialIndex):
    """Points bucketed in square cells of side ``cell_size``.

    Structure (SoA): ``_keys (n,) int64`` cell of each row, ``_order (n,) int64`` rows sorted by
    cell, ``_starts (cells + 1,) int64`` where each cell's rows begin in ``_order``. A query scans,
    for each cell row the query box touches, one contiguous slice of ``_order``.

    Positions outside the frame are clamped to the edge cells, which keeps every query exact.

    Args:
        positions: ``(n, 2)`` initial points.
        bounds: as for :class:`farm.spatial.base.BaseSpatialIndex`.
        cell_size: side of a cell. Small cells give fewer candidates per query at the expense of
            more cells to scan and a larger table (capped at 16 cells per point); None uses the
            first query radius, so a query touches at most 3x3 cells (re-gridded when a later
            radius exceeds it fourfold; before any query, about two points per cell).
        **options: those of :class:`farm.spatial.base.BaseSpatialIndex`.

    Raises:
        ValueError: ``cell_size`` is not positive.
    """

    kind = SpatialIndexKind.SPATIAL_HASH

    def __init__(
        self, positions: np.ndarray, bounds: object = None, *, cell_size: float | None = None, **options
    ) -> None:
        """See the class docstring for the arguments."""
        if cell_size is not None:
            require_positive("spatial", "cell_size", cell_size)
        self._requested_cell = None if cell_size is None else float(cell_size)
        self._radius_cell: float | None = None
        self.cell_size = 1.0
        self._origin = (0.0, 0.0)
        self._inverse = 1.0
        self._columns = 1
        self._rows = 1
        self._keys = np.zeros(0, dtype=np.int64)
        self._order = np.zeros(0, dtype=np.int64)
        self._starts = np.zeros(2, dtype=np.int64)
        super().__init__(positions, bounds, **options)

    # ------------------------------------------------------------ structure
    def _frame(self) -> Bounds:
        if self._bounds is not None:
            return self._bounds
        if len(self._positions) == 0:
            return (0.0, 0.0, 1.0, 1.0)
        xmin, ymin = self._positions.min(axis=0)
        xmax, ymax = self._positions.max(axis=0)
        return (float(xmin), float(ymin), float(xmax), float(ymax))

    def _choose_cell_size(self, width: float, height: float) -> float:
        n = len(self._positions)
        if self._requested_cell is not None:
            cell = self._requested_cell
        elif self._radius_cell is not None:
            cell = self._radius_cell
        else:
            cell = math.sqrt(2.0 * width * height / max(n, 1)) or 1.0
        cap = max(_CELLS_PER_POINT * n, _MIN_CELL_CAP)
        if (width / cell + 1.0) * (height / cell + 1.0) > cap:
            cell = max(cell, (width + height) / math.sqrt(cap) + 1e-12)
        return cell

    def _rebuild_structure(self) -> bool:
        xmin, ymin, xmax, ymax = self._frame()
        self.cell_size = self._choose_cell_size(xmax - xmin, ymax - ymin)
        self._origin = (xmin, ymin)
        self._inverse = 1.0 / self.cell_size
        self._columns = math.floor((xmax - xmin) * self._inverse) + 1
        self._rows = math.floor((ymax - ymin) * self._inverse) + 1
        self._keys = self._keys_of(self._positions)
        self._sort_cells()
        return True

    def _keys_of(self, points: np.ndarray) -> np.ndarray:
        """``(k,) int64`` flat cell id of ``(k, 2)`` points (clamped to the grid)."""
        column = (points[:, 0] - self._origin[0]) * self._inverse
        row = (points[:, 1] - self._origin[1]) * self._inverse
        column = np.clip(column, 0, self._columns - 1, out=column).astype(np.int64)
        row = np.clip(row, 0, self._rows - 1, out=row).astype(np.int64)
        row *= self._columns
        row += column
        return row

    def _sort_cells(self) -> None:
        total = self._columns * self._rows
        # A narrow key lets numpy use its O(n) radix sort.
        keys = self._keys.astype(np.uint16) if total <= 1 << 16 else self._keys
        self._order = np.argsort(keys, kind="stable")
        self._starts = np.zeros(total + 1, dtype=np.int64)
        np.cumsum(np.bincount(self._keys, minlength=total), out=self._starts[1:])

    def _refresh_structure(self) -> None:
        self._sort_cells()

    def _prepare_query(self, radius: float | None) -> None:
        if (
            radius
            and self._requested_cell is None
            and (self._radius_cell is None or radius > _REGRID_FACTOR * self._radius_cell)
        ):
            self._radius_cell = radius
            self._apply_pending()
            self._needs_rebuild = True
        super()._prepare_query(radius)

    # -------------------------------------------------------------- queries
    def _locality(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self._order, self._starts[self._keys_of(points)]

    def _box_candidates(self, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if len(lo) == 0 or len(self._positions) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        x0, y0 = self._origin
        inverse = self._inverse
        column_lo = np.clip((lo[:, 0] - x0) * inverse, 0, self._columns - 1).astype(np.int64)
        column_hi = np.clip((hi[:, 0] - x0) * inverse, 0, self._columns - 1).astype(np.int64)
        row_lo = np.clip((lo[:, 1] - y0) * inverse, 0, self._rows - 1).astype(np.int64)
        row_hi = np.clip((hi[:, 1] - y0) * inverse, 0, self._rows - 1).astype(np.int64)
        # One slice of the sorted order per (query, cell row): the cells of a row are adjacent.
        owner, row_offset = expand_ranges(np.zeros(len(lo), dtype=np.int64), row_hi - row_lo + 1)
        row_base = (row_lo[owner] + row_offset) * self._columns
        starts = self._starts[row_base + column_lo[owner]]
        stops = self._starts[row_base + column_hi[owner] + 1]
        slice_owner, sorted_positions = expand_ranges(starts, stops)
        return owner[slice_owner], self._order[sorted_positions]
