"""Pick each point's nearest valid candidate from CSR neighbour lists, vectorized."""

from __future__ import annotations

import numpy as np

__all__ = ["NeighborPairs", "pair_distances", "nearest_valid", "nearest_in_neighbors"]


class NeighborPairs:
    """CSR neighbours expanded into pairs, with what every nearest-candidate search reuses.

    Attributes:
        indices: ``(k,) int64`` candidate index of each entry (CSR order).
        rows: ``(k,) int64`` query point of each entry (sorted).
        d2: ``(k,) float64`` squared distance of each entry, computed with the engine's own
            arithmetic so the answer does not depend on the index implementation.
        num_points: ``m``, the number of query points.
    """

    def __init__(self, points: np.ndarray, candidates: np.ndarray, neighbors) -> None:
        """Expand ``neighbors`` (CSR over ``candidates (c, 2)``) around ``points (m, 2)``."""
        # ``take`` rather than fancy indexing: several times faster on (k, 2) gathers.
        counts = np.diff(neighbors.offsets)
        self.num_points = points.shape[0]
        self.indices = neighbors.indices
        self.rows = np.repeat(np.arange(self.num_points, dtype=np.int64), counts)
        occupied = counts > 0
        self._starts = neighbors.offsets[:-1][occupied]
        self._group_sizes = counts[occupied]
        delta = candidates.take(self.indices, axis=0)
        delta -= points.take(self.rows, axis=0)
        delta *= delta
        self.d2 = delta[:, 0] + delta[:, 1]

    def nearest(self, keep: np.ndarray) -> np.ndarray:
        """Index of the nearest kept entry per query point.

        ``(m,) int64``: per query point, the kept entry with the smallest ``d2`` (ties: the
        lower candidate index, the first in CSR order); -1 where no entry is kept.
        """
        result = np.full(self.num_points, -1, dtype=np.int64)
        if self.indices.shape[0] == 0:
            return result
        masked = np.where(keep, self.d2, np.inf)
        row_min = np.repeat(np.minimum.reduceat(masked, self._starts), self._group_sizes)
        hits = np.flatnonzero((masked == row_min) & keep)
        if hits.shape[0] == 0:
            return result
        hit_rows = self.rows.take(hits)
        first = np.empty(hit_rows.shape[0], dtype=np.bool_)
        first[0] = True
        np.not_equal(hit_rows[1:], hit_rows[:-1], out=first[1:])
        result[hit_rows[first]] = self.indices.take(hits[first])
        return result


def pair_distances(points: np.ndarray, candidates: np.ndarray, neighbors) -> tuple[np.ndarray, np.ndarray]:
    """Query row and squared distance of every CSR neighbour entry.

    ``(rows (k,) int64, d2 (k,) float64)``: the query point of each CSR entry and its squared
    distance to ``candidates[neighbors.indices]``.
    """
    pairs = NeighborPairs(points, candidates, neighbors)
    return pairs.rows, pairs.d2


def nearest_valid(m: int, rows: np.ndarray, indices: np.ndarray, d2: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Index of the nearest kept entry per row of a CSR pair list.

    ``(m,) int64``: per row, the index among kept entries with the smallest ``d2``; ties go
    to the lower index; -1 for rows with no kept entry. ``rows`` must be sorted and
    ``indices`` ascending within each row (CSR order).
    """
    result = np.full(m, -1, dtype=np.int64)
    if not keep.any():
        return result
    rows, indices, d2 = rows[keep], indices[keep], d2[keep]
    # The first entry of a row that reaches the row's minimum is the nearest, lowest index.
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    row_min = np.minimum.reduceat(d2, starts)
    at_min = np.flatnonzero(d2 == np.repeat(row_min, np.diff(np.r_[starts, d2.shape[0]])))
    min_rows = rows[at_min]
    first = np.r_[True, min_rows[1:] != min_rows[:-1]]
    result[min_rows[first]] = indices[at_min[first]]
    return result


def nearest_in_neighbors(
    points: np.ndarray, candidates: np.ndarray, neighbors, valid: np.ndarray, radius: float
) -> np.ndarray:
    """Nearest valid candidate within ``radius`` of each point.

    For each of the ``m`` points ``(m, 2)``, the index into ``candidates (c, 2)`` of the
    nearest neighbour whose ``valid (k,)`` flag is set and whose distance is ``<= radius``;
    -1 where none qualifies. Ties go to the lower index.
    """
    pairs = NeighborPairs(points, candidates, neighbors)
    return pairs.nearest(valid & (pairs.d2 <= radius * radius))
