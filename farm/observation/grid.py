"""The world-to-cell mapping every observation channel shares.

Cells are one world unit wide. The world ``[0, width] x [0, height]`` is covered by
``cols = ceil(width)`` x ``rows = ceil(height)`` cells; cell ``(gy, gx)`` (row, column) covers
``[gx, gx+1) x [gy, gy+1)`` and has its centre at ``(gx + 0.5, gy + 0.5)``. A position maps to
``gx = clip(floor(x), 0, cols-1)``, ``gy = clip(floor(y), 0, rows-1)`` (so ``x == width`` lands
in the last column).

An agent in cell ``(cy, cx)`` sees the ``S x S`` (``S = 2R+1``) cells ``gy in [cy-R, cy+R]``,
``gx in [cx-R, cx+R]``: ``view[c, i, j]`` is world cell ``(cy - R + i, cx - R + j)``, so rows run
along +y, columns along +x and the agent's own cell is ``view[c, R, R]``. Cells outside the world
hold the channel's pad value.

World layers are stored padded: ``padded[gy + R, gx + R]`` holds world cell ``(gy, gx)`` in an
array of shape ``(rows + 2R, cols + 2R)`` whose ring of width R holds the pad value, so an agent's
window is the plain slice ``padded[cy : cy+S, cx : cx+S]``.

Bilinear placement of a point ``(x, y)`` uses the cell centres: with ``u = x - 0.5``,
``v = y - 0.5``, ``gx0 = floor(u)``, ``fx = u - gx0`` (same for y), the four cells
``(gy0 + a, gx0 + b)``, ``a, b in {0, 1}``, get weights ``(a ? fy : 1-fy) * (b ? fx : 1-fx)``.
Weights that land on a cell outside the world are dropped (the outside is padding).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

__all__ = ["WorldGrid"]


@lru_cache(maxsize=16)
def _disk_runs(view_radius: int, radius: float) -> tuple[tuple[int, int], ...]:
    """``(dy, w)`` per row offset of the disk of ``radius`` cells in a view of radius ``view_radius``.

    The disk's cells in row ``dy`` are ``dx in [-w, w]`` (one run per row, symmetric).
    """
    dy, dx = np.mgrid[-view_radius : view_radius + 1, -view_radius : view_radius + 1]
    keep = dy * dy + dx * dx <= radius * radius
    dy, dx = dy[keep], dx[keep]
    runs = []
    for offset in np.unique(dy).tolist():
        run = dx[dy == offset]
        lo, hi = int(run.min()), int(run.max())
        if run.size != hi - lo + 1 or lo != -hi:  # pragma: no cover - a disk's row is one symmetric run
            raise AssertionError(f"disk row {offset} is not one symmetric run: {run}")
        runs.append((offset, hi))
    return tuple(runs)


@dataclass(frozen=True)
class WorldGrid:
    """Cell geometry of a ``width x height`` world seen with radius ``radius``.

    Attributes:
        width, height: world extent in world units.
        radius: R, the view radius in cells.
    """

    width: float
    height: float
    radius: int

    @cached_property  # read many times a step; a frozen instance never changes it
    def cols(self) -> int:
        """World cells along x (at least 1)."""
        return max(1, math.ceil(self.width))

    @cached_property
    def rows(self) -> int:
        """World cells along y (at least 1)."""
        return max(1, math.ceil(self.height))

    @property
    def size(self) -> int:
        """S = 2R + 1, the side of a view."""
        return 2 * self.radius + 1

    @property
    def padded_shape(self) -> tuple[int, int]:
        """``(rows + 2R, cols + 2R)``, the shape of a padded world layer."""
        return (self.rows + 2 * self.radius, self.cols + 2 * self.radius)

    def cells_of(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World cells ``(gy, gx)``, each ``(n,) int64``, of ``positions (n, 2)`` (clipped)."""
        positions = np.asarray(positions, dtype=np.float64)
        gx = np.floor(positions[:, 0]).astype(np.int64)
        gy = np.floor(positions[:, 1]).astype(np.int64)
        # In place, two ufunc calls each: np.clip's Python layers cost more than the work here.
        np.minimum(np.maximum(gx, 0, out=gx), self.cols - 1, out=gx)
        np.minimum(np.maximum(gy, 0, out=gy), self.rows - 1, out=gy)
        return gy, gx

    def padded_flat(self, gy: np.ndarray, gx: np.ndarray) -> np.ndarray:
        """Flat index into a padded layer of world cells ``(gy, gx)`` (any shape, int64)."""
        return (gy + self.radius) * (self.cols + 2 * self.radius) + (gx + self.radius)

    def inside(self, gy: np.ndarray, gx: np.ndarray) -> np.ndarray:
        """Boolean mask of world cells ``(gy, gx)`` that lie inside the world."""
        return (gy >= 0) & (gy < self.rows) & (gx >= 0) & (gx < self.cols)

    def bilinear_corners(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The four cells around each point and their weights.

        Returns:
            gy, gx: ``(n, 4) int64`` world cells (may lie outside the world).
            weights: ``(n, 4) float64``, each row sums to 1.
        """
        positions = np.asarray(positions, dtype=np.float64)
        u = positions[:, 0] - 0.5
        v = positions[:, 1] - 0.5
        gx0 = np.floor(u)
        gy0 = np.floor(v)
        fx = u - gx0
        fy = v - gy0
        gx0 = gx0.astype(np.int64)
        gy0 = gy0.astype(np.int64)
        gy = np.stack([gy0, gy0, gy0 + 1, gy0 + 1], axis=1)
        gx = np.stack([gx0, gx0 + 1, gx0, gx0 + 1], axis=1)
        weights = np.stack([(1 - fy) * (1 - fx), (1 - fy) * fx, fy * (1 - fx), fy * fx], axis=1)
        return gy, gx, weights

    def splat_geometry(
        self, positions: np.ndarray, bilinear: bool
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Where :meth:`splat` places values at ``positions (n, 2)``: all but the values.

        Returns ``(flat (k,) int64, corner_weights, keep)``: the flat padded-layer indices of the
        in-world cells, and for ``bilinear`` the ``(n, 4) float64`` corner weights and the
        ``(n, 4) bool`` in-world mask (None otherwise: each value lands whole on its own cell,
        ``k == n``). A caller whose positions do not change keeps it and calls
        :meth:`splat_values`.
        """
        if not bilinear:
            gy, gx = self.cells_of(positions)
            return self.padded_flat(gy, gx), None, None
        gy, gx, weights = self.bilinear_corners(positions)
        keep = self.inside(gy, gx)
        return self.padded_flat(gy[keep], gx[keep]), weights, keep

    @staticmethod
    def splat_values(
        corner_weights: np.ndarray | None, keep: np.ndarray | None, values: np.ndarray
    ) -> np.ndarray:
        """The ``(k,) float64`` weights that place ``values (n,)`` on a :meth:`splat_geometry`'s cells.

        ``corner_weights`` and ``keep`` are that geometry's (None for nearest placement).
        """
        values = np.asarray(values, dtype=np.float64)
        if corner_weights is None:
            return values
        return (corner_weights * values[:, None])[keep]

    def splat(self, positions: np.ndarray, values: np.ndarray, bilinear: bool) -> tuple[np.ndarray, np.ndarray]:
        """Flat padded-layer indices and weights that place ``values (n,)`` at ``positions``.

        Returns ``(flat (k,) int64, weights (k,) float64)`` for in-world cells only; sum them with
        ``np.bincount(flat, weights, minlength=Hp * Wp)``.
        """
        flat, corner_weights, keep = self.splat_geometry(positions, bilinear)
        return flat, self.splat_values(corner_weights, keep, values)

    def disk_offsets(self, radius: float) -> tuple[np.ndarray, np.ndarray]:
        """Cell offsets ``(dy, dx)`` (each ``(k,) int64``) within ``radius`` cells.

        Distances are Euclidean, centre to centre; offsets stay within the view square.
        """
        r = self.radius
        dy, dx = np.mgrid[-r : r + 1, -r : r + 1]
        keep = dy * dy + dx * dx <= radius * radius
        return dy[keep].astype(np.int64), dx[keep].astype(np.int64)

    def cells_near(self, gy: np.ndarray, gx: np.ndarray, radius: float) -> np.ndarray:
        """``(rows, cols) bool``: True on every world cell within ``radius`` of one of the cells.

        True on every world cell ``(gy + dy, gx + dx)`` for one of the given cells ``(gy, gx)``
        (each ``(n,) int64``, inside the world) and an offset of :meth:`disk_offsets`
        ``(radius)``. One group of :meth:`cells_near_groups`.
        """
        return self.cells_near_groups(np.zeros(len(gy), dtype=np.intp), gy, gx, radius, 1)[0]

    def cells_near_groups(
        self, groups: np.ndarray, gy: np.ndarray, gx: np.ndarray, radius: float, num_groups: int
    ) -> np.ndarray:
        """``(num_groups, rows, cols) bool``: :meth:`cells_near` of each group of cells at once.

        Layer ``g`` is True on every world cell within ``radius`` of one of the cells ``(gy[i],
        gx[i])`` with ``groups[i] == g`` (all ``(n,) int``, cells inside the world).

        The disk's cells of one row offset ``dy`` form one run ``dx in [-w, w]``, so each layer
        is the marked cells dilated along rows by each distinct half-width ``w`` (boolean ORs of
        shifted slices, each width built from the one below), then shifted by ``dy`` and ORed:
        ``O(num_groups * rows * cols * (2R + 1))`` array work, whatever ``n``, in one pass over
        all groups (a group costs array work, not Python calls).
        """
        rows, cols, r = self.rows, self.cols, self.radius
        marked = np.zeros((num_groups, rows, cols + 2 * r), dtype=bool)  # columns padded by R each side
        marked[groups, gy, gx + r] = True
        runs = _disk_runs(r, float(radius))
        dilated: dict[int, np.ndarray] = {}
        near = marked[:, :, r : r + cols].copy()  # half-width 0
        width = 0
        for w in sorted({w for _, w in runs}):
            while width < w:  # widen by one column on each side
                width += 1
                near |= marked[:, :, r - width : r - width + cols]
                near |= marked[:, :, r + width : r + width + cols]
            dilated[w] = near.copy()
        seen = np.zeros((num_groups, rows + 2 * r, cols), dtype=bool)  # rows padded by R each side
        for offset, w in runs:
            seen[:, r + offset : r + offset + rows] |= dilated[w]
        return seen[:, r : r + rows]

    def disk_mask(self, radius: float) -> np.ndarray:
        """``(S, S) float32`` disk: 1 where a view cell lies within ``radius`` cells, else 0.

        Distances run from the centre cell's centre to each view cell's centre.
        """
        r = self.radius
        dy, dx = np.mgrid[-r : r + 1, -r : r + 1]
        return (dy * dy + dx * dx <= radius * radius).astype(np.float32)
