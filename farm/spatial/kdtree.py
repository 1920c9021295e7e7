"""KD-tree index over scipy's cKDTree, rebuilt only when the points changed."""

from __future__ import annotations

import itertools
import math
from collections import deque
from typing import TYPE_CHECKING

import numpy as np

from farm.spatial.base import BaseSpatialIndex, squared_distances, top_k_from_pairs
from farm.spatial.checks import check_query_points, check_radius
from farm.spatial.config import SpatialIndexKind
from farm.spatial.neighbors import Neighbors
from farm.utils.lazy_scipy import ckdtree
from farm.utils.validation import require_int_at_least

if TYPE_CHECKING:
    from scipy.spatial import cKDTree

__all__ = ["KDTreeIndex"]

# Below this many query points a batched query walks the tree once per point; above it, it
# builds a tree over the query points and runs one dual-tree traversal.
_DUAL_TREE_MIN_QUERIES = 24


# The last trees any KD-tree index built. A batched query over points that another index has
# just built a tree on (the engine queries resources around the agents right after the agent
# index rebuilt over the same positions) reuses that tree instead of building its own.
_RECENT_TREES: deque = deque(maxlen=2)  # of cKDTree



def _recent_tree_over(points: np.ndarray) -> cKDTree | None:
    """A recently built tree whose data equals ``points (m, 2)``, or None."""
    for tree in _RECENT_TREES:
        if tree.data.shape == points.shape and np.array_equal(tree.data, points):
            return tree
    return None


def _flatten(lists: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(owner, values)`` int64 arrays from cKDTree's object array of index lists."""
    lengths = np.fromiter((len(row) for row in lists), dtype=np.int64, count=len(lists))
    values = np.fromiter(itertools.chain.from_iterable(lists), dtype=np.int64, count=int(lengths.sum()))
    return np.repeat(np.arange(len(lists), dtype=np.int64), lengths), values


class KDTreeIndex(BaseSpatialIndex):
    """scipy cKDTree behind the index protocol.

    The tree is rebuilt only when something changed: the dirty flag set by updates that really
    moved a point, a change in the point count, or (cheap, O(n)) positions that differ from the
    tree's own copy. Radius queries use scipy's inclusion test, which is ``dx*dx + dy*dy <= r*r``.

    Args:
        positions: ``(n, 2)`` initial points.
        bounds: as for :class:`farm.spatial.base.BaseSpatialIndex`.
        leaf_size: cKDTree ``leafsize``: a larger leaf gives a faster build at the expense of
            slower queries (each scans more points).
        **options: those of :class:`farm.spatial.base.BaseSpatialIndex`.
    """

    kind = SpatialIndexKind.KDTREE

    def __init__(self, positions: np.ndarray, bounds: object = None, *, leaf_size: int = 16, **options) -> None:
        """See the class docstring for the arguments."""
        require_int_at_least("spatial", "kdtree_leaf_size", leaf_size, 1)
        self._leaf_size = int(leaf_size)
        self._tree: cKDTree | None = None
        super().__init__(positions, bounds, **options)

    # ------------------------------------------------------------ structure
    def _rebuild_structure(self) -> bool:
        points = self._positions
        tree = self._tree
        if tree is not None and tree.n == len(points) and np.array_equal(tree.data, points):
            return False
        self._tree = ckdtree()(points, leafsize=self._leaf_size, copy_data=True)
        _RECENT_TREES.appendleft(self._tree)
        return True

    @property
    def tree(self) -> cKDTree:
        """The current scipy tree (after applying queued updates)."""
        self._prepare_query(None)
        return self._tree

    # -------------------------------------------------------------- queries
    def query_radius(self, points: np.ndarray, radius: float) -> Neighbors | np.ndarray:
        """Rows within ``radius`` of each point (``dx*dx + dy*dy <= radius*radius``).

        Args:
            points: ``(m, 2)`` query points, or one ``(2,)`` point.
            radius: finite, non-negative search radius.

        Returns:
            :class:`Neighbors` (CSR, rows ascending per query) for ``(m, 2)`` points; one sorted
            ``(k,) int64`` array for a single point.

        Raises:
            ValueError: a point is not finite or the radius is negative or infinite.
        """
        if np.ndim(points) == 1:
            return self._query_radius_single(points, radius)
        r = check_radius(radius)
        array = check_query_points(points)
        if self._pending_count or self._needs_rebuild or self._stale:
            self.flush()
        query_rows, point_rows = self._radius_pairs(array, r)
        return Neighbors.from_pairs(query_rows, point_rows, len(array), len(self._positions))

    def _query_radius_single(self, point: np.ndarray, radius: float) -> np.ndarray:
        if len(point) != 2:
            raise ValueError(f"points must have shape (n, 2) or (2,), got shape {np.shape(point)}")
        x, y = float(point[0]), float(point[1])
        r = float(radius)
        if not (math.isfinite(x) and math.isfinite(y)):
            raise ValueError(f"points[0] = {(x, y)} is not finite")
        if not 0.0 <= r < math.inf:
            raise ValueError(f"radius must be a finite non-negative number, got {radius!r}")
        if self._pending_count or self._needs_rebuild or self._stale:
            self.flush()
        if not len(self._positions):
            return np.zeros(0, dtype=np.int64)
        return np.array(self._tree.query_ball_point((x, y), r, return_sorted=True), dtype=np.int64)

    def count_radius(self, points: np.ndarray, radius: float) -> np.ndarray:
        """How many rows lie within ``radius`` of each point.

        Args:
            points: ``(m, 2)`` query points.
            radius: finite, non-negative search radius.

        Returns:
            ``(m,) int64`` counts.

        Raises:
            ValueError: a point is not finite or the radius is negative or infinite.
        """
        r = check_radius(radius)
        array = check_query_points(points)
        self._prepare_query(r)
        if len(array) == 0 or len(self._positions) == 0:
            return np.zeros(len(array), dtype=np.int64)
        return np.asarray(self._tree.query_ball_point(array, r, return_length=True), dtype=np.int64)

    def _radius_pairs(self, points: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
        tree = self._tree
        m = len(points)
        if m == 0 or len(self._positions) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        if m < _DUAL_TREE_MIN_QUERIES:
            return _flatten(tree.query_ball_point(points, radius))
        if points.shape == tree.data.shape and np.array_equal(points, tree.data):
            # Neighbours of every indexed point: each unordered pair once (i < j, several times
            # cheaper than a dual-tree pass over the tree with itself), mirrored, plus itself.
            pairs = tree.query_pairs(radius, output_type="ndarray")
            own = np.arange(m, dtype=np.int64)
            first, second = pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64)
            return np.concatenate([first, second, own]), np.concatenate([second, first, own])
        query_tree = _recent_tree_over(points) or ckdtree()(points, leafsize=self._leaf_size)
        pairs = query_tree.sparse_distance_matrix(tree, radius, output_type="ndarray")
        return pairs["i"], pairs["j"]

    def _box_candidates(self, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if len(lo) == 0 or len(self._positions) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        centres = (lo + hi) * 0.5
        half = (hi - lo).max(axis=1) * 0.5
        pad = half * 1e-9 + 1e-9 * (np.abs(centres).max(axis=1) + 1.0)
        return _flatten(self._tree.query_ball_point(centres, half + pad, p=np.inf))

    def _nearest(self, points: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        m, n = len(points), len(self._positions)
        if m == 0 or n <= k + 1:
            # Every point is a candidate: rank them all.
            query_rows = np.repeat(np.arange(m, dtype=np.int64), n)
            point_rows = np.tile(np.arange(n, dtype=np.int64), m)
            squared = squared_distances(points, query_rows, self._positions, point_rows)
            return top_k_from_pairs(query_rows, point_rows, squared, m, k)
        # One extra neighbour tells whether the k-th distance is tied with a point left out.
        distances, rows = self._tree.query(points, k=k + 1)
        distances = distances.reshape(m, k + 1)
        rows = rows.reshape(m, k + 1).astype(np.int64)
        kth = distances[:, k - 1]
        tied = distances[:, k] <= kth * (1.0 + 1e-9) + 1e-300
        clear = np.nonzero(~tied)[0]
        query_rows = np.repeat(clear, k)
        point_rows = rows[clear, :k].ravel()
        if tied.any():
            # Gather every point within the k-th distance (ties included) for the tied queries.
            tied_rows = np.nonzero(tied)[0]
            reach = kth[tied_rows] * (1.0 + 1e-6) + 1e-300
            owner, found = _flatten(self._tree.query_ball_point(points[tied_rows], reach))
            query_rows = np.concatenate([query_rows, tied_rows[owner]])
            point_rows = np.concatenate([point_rows, found])
        squared = squared_distances(points, query_rows, self._positions, point_rows)
        return top_k_from_pairs(query_rows, point_rows, squared, m, k)
