"""Region quadtree built and queried level by level with numpy (no per-node Python objects).

Points are mapped to an integer grid of ``2**max_depth`` cells per side and sorted by Morton
code; every quadtree node is then a contiguous slice of that order. The tree is stored as, for
each level, the sorted Morton prefixes of its internal (split) nodes. Queries descend all
(query, node) pairs of a level at once.
"""

from __future__ import annotations

import numpy as np

from farm.spatial.base import BaseSpatialIndex, KeyedPointsMixin
from farm.spatial.config import SpatialIndexKind
from farm.spatial.ranges import expand_ranges
from farm.utils.validation import require_int_at_least, require_probability

__all__ = ["QuadtreeIndex", "morton_codes"]

_MAX_DEPTH_LIMIT = 24
_CHILD_DX = np.array([0, 1, 0, 1], dtype=np.int64)
_CHILD_DY = np.array([0, 0, 1, 1], dtype=np.int64)
_CHILD_OFFSET = np.arange(4, dtype=np.int64)


def _spread_bits(values: np.ndarray) -> np.ndarray:
    """Insert a zero bit between the bits of ``(k,) int64`` values below ``2**24``."""
    v = values.astype(np.int64, copy=True)
    v = (v | (v << 16)) & 0x0000FFFF0000FFFF
    v = (v | (v << 8)) & 0x00FF00FF00FF00FF
    v = (v | (v << 4)) & 0x0F0F0F0F0F0F0F0F
    v = (v | (v << 2)) & 0x3333333333333333
    v = (v | (v << 1)) & 0x5555555555555555
    return v


def morton_codes(grid_x: np.ndarray, grid_y: np.ndarray) -> np.ndarray:
    """``(k,) int64`` Morton (Z-order) codes: x bits at even positions, y bits at odd positions."""
    return _spread_bits(grid_x) | (_spread_bits(grid_y) << 1)


class QuadtreeIndex(KeyedPointsMixin, BaseSpatialIndex):
    """Quadtree whose leaves hold at most ``capacity`` points unless ``max_depth`` is reached.

    Moves, inserts and removals re-file only the affected points (the tree's shape is kept and
    the Morton order re-sorted); once the dirty regions cover ``rebuild_fraction`` of the world,
    or the point count has halved or doubled, the shape is rebuilt from scratch.

    Args:
        positions: ``(n, 2)`` initial points.
        bounds: as for :class:`farm.spatial.base.BaseSpatialIndex`.
        capacity: points a leaf holds before it splits. Small gives faster queries (fewer
            candidates) at the expense of a deeper tree and a longer build.
        max_depth: at most 24; bounds the depth (and the build) for piles of duplicate points,
            at the expense of larger leaves where points pile up.
        rebuild_fraction: share of dirty regions above which a refresh rebuilds the shape from
            scratch. Lower keeps the tree shape fitted to the points at the expense of more
            rebuilds; higher re-sorts more often, at the expense of a shape that drifts.
        **options: those of :class:`farm.spatial.base.BaseSpatialIndex`.

    Raises:
        ValueError: an option is out of range (the message names it).
    """

    kind = SpatialIndexKind.QUADTREE

    def __init__(
        self,
        positions: np.ndarray,
        bounds: object = None,
        *,
        capacity: int = 8,
        max_depth: int = 16,
        rebuild_fraction: float = 0.5,
        **options,
    ) -> None:
        """See the class docstring for the arguments."""
        require_int_at_least("spatial", "quadtree_capacity", capacity, 1)
        require_int_at_least("spatial", "quadtree_max_depth", max_depth, 1)
        if max_depth > _MAX_DEPTH_LIMIT:
            raise ValueError(f"spatial.quadtree_max_depth must be <= {_MAX_DEPTH_LIMIT}, got {max_depth!r}")
        require_probability("spatial", "rebuild_fraction", rebuild_fraction)
        self.capacity = int(capacity)
        self.max_depth = int(max_depth)
        self.rebuild_fraction = float(rebuild_fraction)
        self._origin = (0.0, 0.0)
        self._scale = 1.0
        self._keys = np.zeros(0, dtype=np.int64)
        self._order = np.zeros(0, dtype=np.int64)
        self._sorted_codes = np.zeros(0, dtype=np.int64)
        self._internal: list[np.ndarray] = []
        self._built_size = 0
        super().__init__(positions, bounds, **options)

    @property
    def depth(self) -> int:
        """Levels below the root that hold internal nodes plus one (0 for a single leaf)."""
        return len(self._internal)

    # ------------------------------------------------------------ structure
    def _grid(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Integer grid coordinates of ``(k, 2)`` points, clamped to ``[0, 2**max_depth)``."""
        top = float((1 << self.max_depth) - 1)
        gx = (points[:, 0] - self._origin[0]) * self._scale
        gy = (points[:, 1] - self._origin[1]) * self._scale
        gx = np.clip(gx, 0.0, top, out=gx).astype(np.int64)
        gy = np.clip(gy, 0.0, top, out=gy).astype(np.int64)
        return gx, gy

    def _keys_of(self, points: np.ndarray) -> np.ndarray:
        """``(k,) int64`` Morton codes of ``(k, 2)`` points on this tree's grid."""
        return morton_codes(*self._grid(points))

    def _rebuild_structure(self) -> bool:
        if self._bounds is not None:
            xmin, ymin, xmax, ymax = self._bounds
        elif len(self._positions):
            xmin, ymin = self._positions.min(axis=0)
            xmax, ymax = self._positions.max(axis=0)
        else:
            xmin, ymin, xmax, ymax = 0.0, 0.0, 1.0, 1.0
        side = max(float(xmax - xmin), float(ymax - ymin)) or 1.0
        self._origin = (float(xmin), float(ymin))
        self._scale = float(1 << self.max_depth) / side
        self._keys = self._keys_of(self._positions)
        self._sort_codes()
        self._split_nodes()
        self._built_size = len(self._positions)
        return True

    def _sort_codes(self) -> None:
        self._order = np.argsort(self._keys, kind="stable")
        self._sorted_codes = self._keys[self._order]

    def _split_nodes(self) -> None:
        """Find, level by level, the nodes holding more than ``capacity`` points."""
        self._internal = []
        prefixes = np.zeros(1, dtype=np.int64)
        for level in range(self.max_depth):
            shift = 2 * (self.max_depth - level)
            counts = np.searchsorted(self._sorted_codes, (prefixes + 1) << shift) - np.searchsorted(
                self._sorted_codes, prefixes << shift
            )
            split = prefixes[counts > self.capacity]
            if len(split) == 0:
                break
            self._internal.append(split)
            prefixes = (split[:, None] * 4 + _CHILD_OFFSET).ravel()

    def _refresh_structure(self) -> None:
        n = len(self._positions)
        if self._regions.fraction >= self.rebuild_fraction or n > 2 * self._built_size or 2 * n < self._built_size:
            self._full_rebuild()
        else:
            self._sort_codes()

    # -------------------------------------------------------------- queries
    def _locality(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self._order, np.searchsorted(self._sorted_codes, self._keys_of(points))

    def _box_candidates(self, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if len(lo) == 0 or len(self._positions) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        depth = self.max_depth
        box_x_lo, box_y_lo = self._grid(lo)
        box_x_hi, box_y_hi = self._grid(hi)
        # Current (query, node) pairs: node grid coordinates at this level and Morton prefix.
        query = np.arange(len(lo), dtype=np.int64)
        node_x = np.zeros(len(lo), dtype=np.int64)
        node_y = np.zeros(len(lo), dtype=np.int64)
        prefix = np.zeros(len(lo), dtype=np.int64)
        leaf_query, leaf_lo, leaf_hi = [], [], []
        for level in range(depth + 1):
            internal = self._internal[level] if level < len(self._internal) else None
            if internal is None or len(query) == 0:
                is_internal = np.zeros(len(query), dtype=bool)
            else:
                slot = np.searchsorted(internal, prefix)
                np.minimum(slot, len(internal) - 1, out=slot)
                is_internal = internal[slot] == prefix
            is_leaf = ~is_internal
            shift = 2 * (depth - level)
            leaf_prefix = prefix[is_leaf]
            leaf_query.append(query[is_leaf])
            leaf_lo.append(leaf_prefix << shift)
            leaf_hi.append((leaf_prefix + 1) << shift)
            if not is_internal.any():
                break
            query, node_x, node_y = query[is_internal], node_x[is_internal], node_y[is_internal]
            prefix = prefix[is_internal]
            child_shift = depth - level - 1
            child_x = (2 * node_x)[:, None] + _CHILD_DX
            child_y = (2 * node_y)[:, None] + _CHILD_DY
            overlaps = (
                (child_x >= (box_x_lo[query] >> child_shift)[:, None])
                & (child_x <= (box_x_hi[query] >> child_shift)[:, None])
                & (child_y >= (box_y_lo[query] >> child_shift)[:, None])
                & (child_y <= (box_y_hi[query] >> child_shift)[:, None])
            )
            query = np.broadcast_to(query[:, None], overlaps.shape)[overlaps]
            node_x, node_y = child_x[overlaps], child_y[overlaps]
            prefix = ((4 * prefix)[:, None] + _CHILD_OFFSET)[overlaps]
        owners = np.concatenate(leaf_query)
        starts = np.searchsorted(self._sorted_codes, np.concatenate(leaf_lo))
        stops = np.searchsorted(self._sorted_codes, np.concatenate(leaf_hi))
        slice_owner, sorted_positions = expand_ranges(starts, stops)
        return owners[slice_owner], self._order[sorted_positions]
