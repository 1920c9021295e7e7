"""RESOURCES (INSTANT): resource node amounts / ``max_amount`` around the observer.

Each node's normalised amount is placed on the cell that holds it (NEAREST) or spread over the
four cells around it (BILINEAR, see :mod:`farm.observation.grid`); values of nodes sharing a
cell add up. Three sources give identical windows (tests check it):

- SPATIAL: a k-d tree of node positions; for all observers at once, the nodes within Chebyshev
  distance ``R + 1`` of the observer's cell centre are found in one tree-vs-tree query and
  splatted into the observers' windows with one bincount.
- GRID: a padded world layer in the builder's stack, re-splatted only when node positions or
  amounts changed since the previous build.
- MEMMAP: the same world layer kept in a numpy memmap on a scratch file that no process exit
  leaves behind (:func:`farm.utils.scratch_memmap.scratch_memmap`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from farm.observation.channel import Channel, ChannelLifetime, ObservationContext
from farm.observation.config import ResourceInterpolation, ResourceSource
from farm.observation.registry import register_channel
from farm.utils.lazy_scipy import ckdtree
from farm.utils.scratch_memmap import scratch_memmap

if TYPE_CHECKING:
    from scipy.spatial import cKDTree

__all__ = ["Resources"]


class Resources(Channel):
    """Resource amounts around the observer, by the configured interpolation and source."""

    lifetime = ChannelLifetime.INSTANT

    def __init__(self, name: str, context: ObservationContext) -> None:
        self.source = context.config.resource_source
        self.bilinear = context.config.interpolation is ResourceInterpolation.BILINEAR
        self.layer_count = 1 if self.source is ResourceSource.GRID else 0
        super().__init__(name, context)
        self._positions: np.ndarray | None = None  # snapshot of the previous build
        self._amounts: np.ndarray | None = None
        self._dirty: np.ndarray | None = None
        self._tree: cKDTree | None = None
        self._tree_positions: np.ndarray | None = None
        # (positions (m, 2), flat, corner_weights, keep): WorldGrid.splat_geometry of the nodes.
        self._geometry: tuple | None = None
        self._memmap: np.memmap | None = None
        if self.source is ResourceSource.MEMMAP:
            self._memmap = scratch_memmap("farm-resource-grid-", ".f32", np.float32, context.grid.padded_shape)
            s = context.grid.size
            self._windows = sliding_window_view(self._memmap, (s, s))

    # -- node data ------------------------------------------------------------------------
    def _node_values(self) -> tuple[np.ndarray, np.ndarray]:
        res = self.context.resources
        positions = np.asarray(res.positions, dtype=np.float64).reshape(-1, 2)
        values = np.asarray(res.amounts, dtype=np.float64) / float(res.max_amount)
        return positions, values

    def _world_grid(self, positions: np.ndarray, values: np.ndarray) -> np.ndarray:
        """``(Hp * Wp,) float64`` padded world grid of the node values.

        The cells and corner weights of the nodes are kept from the previous call while the
        node positions stay the same (regeneration changes amounts, not positions).
        """
        grid = self.context.grid
        geometry = self._geometry
        if geometry is None or not np.array_equal(geometry[0], positions):
            geometry = (positions.copy(), *grid.splat_geometry(positions, self.bilinear))
            self._geometry = geometry
        _, flat, corner_weights, keep = geometry
        hp, wp = grid.padded_shape
        return np.bincount(flat, grid.splat_values(corner_weights, keep, values), minlength=hp * wp)

    def _touched(self, positions: np.ndarray) -> np.ndarray:
        """Flat padded indices of every cell ``positions`` contribute to."""
        flat, _ = self.context.grid.splat(positions, np.ones(len(positions)), self.bilinear)
        return flat

    def refresh(self) -> None:
        """Re-read the resource nodes and rebuild the grid where they changed.

        Marks the cells of changed nodes dirty when the observation cache is on.
        """
        positions, amounts = self._node_values()
        old_p, old_a = self._positions, self._amounts
        if old_p is None or old_p.shape != positions.shape:
            changed = None  # everything
        else:
            moved = np.any(old_p != positions, axis=1) | (old_a != amounts)
            changed = np.flatnonzero(moved)
        if changed is not None and changed.size == 0:
            return
        if self.context.config.cache:
            self._mark_dirty(old_p, positions, changed)
        self._positions = positions.copy()
        self._amounts = amounts.copy()
        if self.source is ResourceSource.GRID:
            self.layers.reshape(-1)[:] = self._world_grid(positions, amounts)
        elif self.source is ResourceSource.MEMMAP:
            self._memmap.reshape(-1)[:] = self._world_grid(positions, amounts)

    def _mark_dirty(self, old_p: np.ndarray | None, positions: np.ndarray, changed: np.ndarray | None) -> None:
        """Record the cells touched by changed nodes (old and new places).

        They stay recorded until the builder's cache collects them with :meth:`dirty_cells`
        (``changed`` None: every cell).
        """
        if self._dirty is None:
            self._dirty = np.zeros(self.context.grid.padded_shape, dtype=bool)
        if changed is None:
            self._dirty[...] = True
            return
        flat_dirty = self._dirty.reshape(-1)
        flat_dirty[self._touched(old_p[changed])] = True
        flat_dirty[self._touched(positions[changed])] = True

    def dirty_cells(self) -> np.ndarray | None:
        """``(Hp, Wp) bool`` cells recorded since the last call (None for the GRID source).

        GRID changes show in the stack itself; the other sources hold data outside it.
        """
        dirty, self._dirty = self._dirty, None
        return None if self.source is ResourceSource.GRID else dirty

    # -- windows --------------------------------------------------------------------------
    def finish(self, windows: np.ndarray, rows: np.ndarray, gy: np.ndarray, gx: np.ndarray) -> None:
        """Fill the windows from the memmap grid (MEMMAP) or nearby nodes (SPATIAL), in place."""
        if self.source is ResourceSource.MEMMAP:
            windows[...] = self._windows[gy, gx]
        elif self.source is ResourceSource.SPATIAL:
            self._splat_nearby(windows, gy, gx)

    def _node_tree(self, positions: np.ndarray) -> cKDTree:
        if self._tree is None or not np.array_equal(self._tree_positions, positions):
            self._tree = ckdtree()(positions)
            self._tree_positions = positions.copy()
        return self._tree

    def _splat_nearby(self, windows: np.ndarray, gy: np.ndarray, gx: np.ndarray) -> None:
        grid = self.context.grid
        r, s = grid.radius, grid.size
        n = len(gy)
        positions, values = self._node_values()
        if n == 0 or len(positions) == 0:
            windows[...] = 0.0
            return
        centres = np.stack([gx + 0.5, gy + 0.5], axis=1)
        # Every node that can touch a window lies within Chebyshev distance R + 1 of its centre.
        pairs = ckdtree()(centres).sparse_distance_matrix(
            self._node_tree(positions), r + 1.0, p=np.inf, output_type="ndarray"
        )
        observer = pairs["i"].astype(np.int64)
        node = pairs["j"].astype(np.int64)
        if self.bilinear:
            ny, nx, w = grid.bilinear_corners(positions[node])
            observer = np.repeat(observer, 4)
            ny, nx, w = ny.reshape(-1), nx.reshape(-1), (w * values[node, None]).reshape(-1)
            inside = grid.inside(ny, nx)
        else:
            ny, nx = grid.cells_of(positions[node])
            w = values[node]
            inside = np.ones(len(node), dtype=bool)
        i = ny - gy[observer] + r
        j = nx - gx[observer] + r
        keep = inside & (i >= 0) & (i < s) & (j >= 0) & (j < s)
        flat = (observer[keep] * s + i[keep]) * s + j[keep]
        windows[...] = np.bincount(flat, w[keep], minlength=n * s * s).reshape(n, s, s)

    # -- reference ------------------------------------------------------------------------
    def reference(self, row: int) -> np.ndarray:
        """``(S, S) float64`` window of the agent in row ``row``, each node splatted by plain loops."""
        ctx = self.context
        grid = ctx.grid
        r, s = grid.radius, grid.size
        x, y = ctx.state.positions[row]
        cx = min(max(int(np.floor(x)), 0), grid.cols - 1)
        cy = min(max(int(np.floor(y)), 0), grid.rows - 1)
        out = np.zeros((s, s))
        positions, values = self._node_values()
        near = np.flatnonzero(np.max(np.abs(positions - [cx + 0.5, cy + 0.5]), axis=1) <= r + 1.0)
        for k in near:
            px, py = float(positions[k, 0]), float(positions[k, 1])
            value = float(values[k])
            if self.bilinear:
                u, v = px - 0.5, py - 0.5
                x0, y0 = int(np.floor(u)), int(np.floor(v))
                fx, fy = u - x0, v - y0
                pieces = [
                    (y0, x0, (1 - fy) * (1 - fx)),
                    (y0, x0 + 1, (1 - fy) * fx),
                    (y0 + 1, x0, fy * (1 - fx)),
                    (y0 + 1, x0 + 1, fy * fx),
                ]
            else:
                ncx = min(max(int(np.floor(px)), 0), grid.cols - 1)
                ncy = min(max(int(np.floor(py)), 0), grid.rows - 1)
                pieces = [(ncy, ncx, 1.0)]
            for wy, wx, weight in pieces:
                if not (0 <= wy < grid.rows and 0 <= wx < grid.cols):
                    continue  # outside the world: dropped
                i, j = wy - cy + r, wx - cx + r
                if 0 <= i < s and 0 <= j < s:
                    out[i, j] += weight * value
        return out

    def close(self) -> None:
        """Drop the memmap views, if any: the mapping, and its scratch file, go with the last one."""
        if self._memmap is not None:
            self._windows = None
            self._memmap = None


register_channel("RESOURCES", Resources)
