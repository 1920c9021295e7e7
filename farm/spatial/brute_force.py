"""Reference index: every query compares against every point. Slow, obviously right."""

from __future__ import annotations

import numpy as np

from farm.spatial.base import BaseSpatialIndex, top_k_from_pairs
from farm.spatial.config import SpatialIndexKind

__all__ = ["BruteForceIndex"]

# Pairs evaluated per chunk: bounds the temporary (chunk, n) arrays to a few tens of MB.
_PAIRS_PER_CHUNK = 1 << 21


class BruteForceIndex(BaseSpatialIndex):
    """All-pairs distances: the reference index.

    All-pairs distances; the truth the other kinds are tested against. Options: see
    :class:`farm.spatial.base.BaseSpatialIndex`.
    """

    kind = SpatialIndexKind.BRUTE_FORCE

    def _rebuild_structure(self) -> bool:
        return True

    def _chunks(self, num_queries: int):
        step = max(1, _PAIRS_PER_CHUNK // max(len(self._positions), 1))
        for start in range(0, num_queries, step):
            yield start, min(num_queries, start + step)

    def _radius_pairs(self, points: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
        found_q, found_p = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
        px, py = self._positions[:, 0], self._positions[:, 1]
        for start, stop in self._chunks(len(points)):
            dx = points[start:stop, 0, None] - px[None, :]
            dy = points[start:stop, 1, None] - py[None, :]
            query_rows, point_rows = np.nonzero(dx * dx + dy * dy <= radius * radius)
            found_q.append(query_rows.astype(np.int64) + start)
            found_p.append(point_rows.astype(np.int64))
        return np.concatenate(found_q), np.concatenate(found_p)

    def _box_candidates(self, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        found_q, found_p = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
        px, py = self._positions[:, 0], self._positions[:, 1]
        for start, stop in self._chunks(len(lo)):
            inside = (
                (px[None, :] >= lo[start:stop, 0, None])
                & (px[None, :] <= hi[start:stop, 0, None])
                & (py[None, :] >= lo[start:stop, 1, None])
                & (py[None, :] <= hi[start:stop, 1, None])
            )
            query_rows, point_rows = np.nonzero(inside)
            found_q.append(query_rows.astype(np.int64) + start)
            found_p.append(point_rows.astype(np.int64))
        return np.concatenate(found_q), np.concatenate(found_p)

    def _nearest(self, points: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        n = len(self._positions)
        query_rows = np.repeat(np.arange(len(points), dtype=np.int64), n)
        point_rows = np.tile(np.arange(n, dtype=np.int64), len(points))
        dx = points[:, 0, None] - self._positions[None, :, 0]
        dy = points[:, 1, None] - self._positions[None, :, 1]
        return top_k_from_pairs(query_rows, point_rows, (dx * dx + dy * dy).ravel(), len(points), k)
