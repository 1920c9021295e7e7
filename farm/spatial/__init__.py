"""Spatial indexes answering neighbourhood queries with integer indices (simple KD-tree form).

``make_index(kind, positions, bounds=None)`` returns an index with ``build``, ``update`` and a
batched ``query_radius`` whose result is a CSR :class:`Neighbors`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from farm.spatial.config import SpatialConfig, SpatialIndexKind
from farm.utils.validation import coerce_enum

__all__ = ["Neighbors", "KDTreeIndex", "make_index", "SpatialIndexKind", "SpatialConfig"]


@dataclass(frozen=True)
class Neighbors:
    """CSR neighbour lists: point i's neighbours are ``indices[offsets[i]:offsets[i + 1]]``,
    sorted ascending. ``offsets (m+1,) int64``, ``indices (k,) int64``."""

    offsets: np.ndarray
    indices: np.ndarray

    def __len__(self) -> int:
        return int(self.offsets.shape[0] - 1)

    def __getitem__(self, i: int) -> np.ndarray:
        return self.indices[self.offsets[i] : self.offsets[i + 1]]

    def counts(self) -> np.ndarray:
        return np.diff(self.offsets)


class KDTreeIndex:
    """scipy cKDTree over ``(n, 2)`` positions, rebuilt on :meth:`build` and :meth:`update`."""

    def __init__(self, positions: np.ndarray) -> None:
        self.build(positions)

    def build(self, positions: np.ndarray) -> None:
        self.positions = np.array(positions, dtype=np.float64).reshape(-1, 2)
        self.tree = cKDTree(self.positions) if len(self.positions) else None

    def update(self, indices: np.ndarray, new_positions: np.ndarray) -> None:
        positions = self.positions.copy()
        positions[np.asarray(indices, dtype=np.int64)] = new_positions
        self.build(positions)

    def query_radius(self, points: np.ndarray, radius: float) -> Neighbors:
        points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        if radius < 0:
            raise ValueError(f"radius must be >= 0, got {radius!r}")
        m = len(points)
        if self.tree is None or m == 0:
            return Neighbors(np.zeros(m + 1, dtype=np.int64), np.zeros(0, dtype=np.int64))
        # One dual-tree traversal returns all (point, neighbour) pairs as arrays; sorting the
        # combined key orders them by point, then by neighbour index.
        pairs = cKDTree(points).sparse_distance_matrix(self.tree, radius, output_type="ndarray")
        key = pairs["i"].astype(np.int64) * len(self.positions) + pairs["j"]
        key.sort()
        rows, indices = np.divmod(key, len(self.positions))
        offsets = np.zeros(m + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=m), out=offsets[1:])
        return Neighbors(offsets, indices)


def make_index(kind: SpatialIndexKind | str, positions: np.ndarray, bounds=None, **options) -> KDTreeIndex:
    """Build an index of ``kind`` over ``(n, 2)`` positions. Only KDTREE exists in this build."""
    kind = coerce_enum("spatial", "index", SpatialIndexKind, kind)
    if kind is not SpatialIndexKind.KDTREE:
        raise ValueError(f"spatial.index {kind.value!r} is not available in this build")
    return KDTreeIndex(positions)
