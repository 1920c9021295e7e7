"""Pick each point's nearest valid candidate from CSR neighbour lists, vectorized."""

from __future__ import annotations

import numpy as np

__all__ = ["pair_distances", "nearest_valid", "nearest_in_neighbors"]


def pair_distances(points: np.ndarray, candidates: np.ndarray, neighbors) -> tuple[np.ndarray, np.ndarray]:
    """Expand CSR neighbours into pairs: ``(rows (k,) int64, d2 (k,) float64)`` where ``rows[e]``
    is the query point of entry ``e`` and ``d2[e]`` its squared distance to
    ``candidates[neighbors.indices[e]]``, computed with the engine's own arithmetic."""
    rows = np.repeat(np.arange(points.shape[0], dtype=np.int64), np.diff(neighbors.offsets))
    delta = candidates[neighbors.indices] - points[rows]
    return rows, delta[:, 0] * delta[:, 0] + delta[:, 1] * delta[:, 1]


def nearest_valid(m: int, rows: np.ndarray, indices: np.ndarray, d2: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """``(m,) int64``: per row, the index among kept entries with the smallest ``d2``; ties go
    to the lower index; -1 for rows with no kept entry. ``rows`` must be sorted and
    ``indices`` ascending within each row (CSR order)."""
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
    """For each of the ``m`` points ``(m, 2)``, the index into ``candidates (c, 2)`` of the
    nearest neighbour whose ``valid (k,)`` flag is set and whose distance is ``<= radius``;
    -1 where none qualifies. Ties go to the lower index."""
    rows, d2 = pair_distances(points, candidates, neighbors)
    return nearest_valid(points.shape[0], rows, neighbors.indices, d2, valid & (d2 <= radius * radius))
