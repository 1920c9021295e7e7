"""CSR result of a batched radius query."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

__all__ = ["Neighbors"]

# Query and point counts up to this fit uint16, whose stable argsort numpy does by radix sort.
_RADIX_LIMIT = 1 << 16


class Neighbors:
    """Neighbour lists of ``m`` query points in compressed sparse row form.

    Attributes:
        offsets: ``(m + 1,) int64``; row ``i`` is ``indices[offsets[i]:offsets[i + 1]]``.
        indices: ``(offsets[-1],) int64`` point rows, ascending within each query row.

    ``len(result)`` is ``m``; ``result[i]`` is query ``i``'s sorted ``int64`` neighbour array.
    """

    __slots__ = ("offsets", "indices")

    def __init__(self, offsets: np.ndarray, indices: np.ndarray) -> None:
        """Wrap CSR arrays as they are (no copy, no check)."""
        self.offsets = offsets
        self.indices = indices

    @classmethod
    def empty(cls, num_queries: int) -> Neighbors:
        """``num_queries`` queries with no neighbours."""
        return cls(np.zeros(num_queries + 1, dtype=np.int64), np.zeros(0, dtype=np.int64))

    @classmethod
    def from_pairs(cls, query_rows: np.ndarray, point_rows: np.ndarray, num_queries: int, num_points: int) -> Neighbors:
        """Build from unordered pairs of query and point rows.

        ``query_rows`` and ``point_rows`` are ``(p,)`` integer arrays with no duplicate pair, so
        the order by ``(query, point)`` is unique. With both counts within 16 bits it is found by
        two stable radix sorts (numpy's ``kind="stable"`` for 16-bit keys: ``O(p)``), point row
        first, then query row; otherwise by one sort of the combined key
        ``query * num_points + point``.
        """
        if num_queries <= _RADIX_LIMIT and num_points <= _RADIX_LIMIT:
            order = np.argsort(point_rows.astype(np.uint16), kind="stable")
            order = order.take(np.argsort(query_rows.astype(np.uint16).take(order), kind="stable"))
            offsets = np.zeros(num_queries + 1, dtype=np.int64)
            np.cumsum(np.bincount(query_rows, minlength=num_queries), out=offsets[1:])
            return cls(offsets, point_rows.astype(np.int64, copy=False).take(order))
        keys = query_rows.astype(np.int64, copy=False) * max(num_points, 1) + point_rows
        keys.sort()
        return cls._from_sorted_keys(keys, query_rows, num_queries, num_points)

    @classmethod
    def from_sorted_pairs(cls, query_rows: np.ndarray, point_rows: np.ndarray, num_queries: int) -> Neighbors:
        """Build from pairs already ordered by ``(query, point)``."""
        offsets = np.zeros(num_queries + 1, dtype=np.int64)
        np.cumsum(np.bincount(query_rows, minlength=num_queries), out=offsets[1:])
        return cls(offsets, point_rows.astype(np.int64, copy=False))

    @classmethod
    def _from_sorted_keys(
        cls, keys: np.ndarray, query_rows: np.ndarray, num_queries: int, num_points: int
    ) -> Neighbors:
        offsets = np.zeros(num_queries + 1, dtype=np.int64)
        np.cumsum(np.bincount(query_rows, minlength=num_queries), out=offsets[1:])
        indices = keys - np.repeat(np.arange(num_queries, dtype=np.int64) * max(num_points, 1), np.diff(offsets))
        return cls(offsets, indices)

    @property
    def counts(self) -> np.ndarray:
        """``(m,) int64`` number of neighbours of each query."""
        return np.diff(self.offsets)

    def __len__(self) -> int:
        """Number of queries ``m``."""
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> np.ndarray:
        """Query ``i``'s sorted ``int64`` neighbour rows (negative ``i`` counts from the end)."""
        if not -len(self) <= i < len(self):
            raise IndexError(f"query row {i} out of range for {len(self)} queries")
        i %= len(self)
        return self.indices[self.offsets[i] : self.offsets[i + 1]]

    def __iter__(self) -> Iterator[np.ndarray]:
        """Each query's neighbour rows, in query order."""
        for i in range(len(self)):
            yield self.indices[self.offsets[i] : self.offsets[i + 1]]

    def equals(self, other: Neighbors) -> bool:
        """True when both hold the same rows with the same neighbours."""
        return np.array_equal(self.offsets, other.offsets) and np.array_equal(self.indices, other.indices)

    def to_lists(self) -> list[list[int]]:
        """Neighbour rows as plain Python lists, one per query."""
        return [row.tolist() for row in self]

    def __repr__(self) -> str:
        """Query and pair counts (not the rows)."""
        return f"Neighbors(queries={len(self)}, pairs={len(self.indices)})"
