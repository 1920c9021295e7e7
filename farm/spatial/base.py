"""Machinery every spatial index shares.

Point storage, immediate/batched updates, dirty regions, input checks, and the generic queries
built on an index's candidate search.

An index implements ``_rebuild_structure`` and ``_box_candidates`` (and may override the
``_on_*`` hooks to refresh part of itself, or any query for speed).
"""

from __future__ import annotations

import math

import numpy as np

from farm.spatial.checks import (
    Bounds,
    check_k,
    check_positions,
    check_query_points,
    check_radius,
    check_rows,
    parse_bounds,
)
from farm.spatial.config import SpatialIndexKind, UpdateMode
from farm.spatial.dirty_regions import DirtyRegionGrid
from farm.spatial.neighbors import Neighbors
from farm.spatial.stats import IndexStats
from farm.utils.validation import coerce_enum, require_int_at_least, require_positive

__all__ = ["BaseSpatialIndex", "KeyedPointsMixin", "top_k_from_pairs", "squared_distances"]

_EMPTY_ROWS = np.zeros(0, dtype=np.int64)


def squared_distances(
    points: np.ndarray, query_rows: np.ndarray, positions: np.ndarray, point_rows: np.ndarray
) -> np.ndarray:
    """Squared distances between query points and indexed positions.

    ``(p,) float64`` ``dx*dx + dy*dy`` between ``points[query_rows]`` and ``positions[point_rows]``,
    evaluated in the order scipy's cKDTree uses, so every index agrees on boundary cases.
    """
    dx = points[query_rows, 0] - positions[point_rows, 0]
    dy = points[query_rows, 1] - positions[point_rows, 1]
    dx *= dx
    dy *= dy
    dx += dy
    return dx


def top_k_from_pairs(
    query_rows: np.ndarray, point_rows: np.ndarray, squared: np.ndarray, num_queries: int, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest of each query's candidates, by ``(squared distance, row)``.

    Returns ``(distances (m, k) float64, rows (m, k) int64)``, padded with ``inf`` / ``-1``.
    """
    distances = np.full((num_queries, k), np.inf)
    rows = np.full((num_queries, k), -1, dtype=np.int64)
    if len(query_rows) == 0:
        return distances, rows
    order = np.lexsort((point_rows, squared, query_rows))
    sorted_queries = query_rows[order]
    starts = np.zeros(num_queries + 1, dtype=np.int64)
    np.cumsum(np.bincount(sorted_queries, minlength=num_queries), out=starts[1:])
    rank = np.arange(len(order), dtype=np.int64) - starts[sorted_queries]
    keep = rank < k
    chosen = order[keep]
    distances[sorted_queries[keep], rank[keep]] = np.sqrt(squared[chosen])
    rows[sorted_queries[keep], rank[keep]] = point_rows[chosen]
    return distances, rows


def _keep_last_occurrence(rows: np.ndarray, size: int) -> np.ndarray | None:
    """Mask keeping the last of repeated rows, or None when every row is distinct."""
    if len(rows) < 2 or np.bincount(rows, minlength=size).max() < 2:
        return None
    _, first_in_reversed = np.unique(rows[::-1], return_index=True)
    keep = np.zeros(len(rows), dtype=bool)
    keep[len(rows) - 1 - first_in_reversed] = True
    return keep


class BaseSpatialIndex:
    """Shared state and behaviour of the index kinds (see :class:`farm.spatial.protocol.SpatialIndex`).

    Args:
        positions: ``(n, 2)`` initial points.
        bounds: ``(xmin, ymin, xmax, ymax)`` or ``(width, height)`` of the world, or None for
            unconstrained positions (the frame then follows the points).
        update_mode: ``UpdateMode`` or its value. IMMEDIATE refreshes the structure in every
            ``update``: queries never pay for pending work, at the expense of one refresh per
            call. BATCHED queues updates: one refresh serves many updates, at the expense of
            a flush in the next query.
        batch_threshold: queued rows that force a flush in batched mode; larger merges more
            updates into one refresh at the expense of memory for the queue.
        region_size: side of a dirty region in world units; smaller tracks changes more
            precisely at the expense of a larger bookkeeping grid.

    Raises:
        ValueError: an option or a position is invalid (the message names it).
    """

    kind: SpatialIndexKind

    def __init__(
        self,
        positions: np.ndarray,
        bounds: object = None,
        *,
        update_mode: UpdateMode | str = UpdateMode.BATCHED,
        batch_threshold: int = 4096,
        region_size: float = 10.0,
    ) -> None:
        """See the class docstring for the arguments."""
        self._bounds: Bounds | None = parse_bounds(bounds)
        self._update_mode = coerce_enum("spatial", "update_mode", UpdateMode, update_mode)
        require_int_at_least("spatial", "batch_threshold", batch_threshold, 1)
        require_positive("spatial", "region_size", region_size)
        self._batch_threshold = int(batch_threshold)
        self._region_size = float(region_size)
        self._positions = np.zeros((0, 2), dtype=np.float64)
        self._pending_rows: list[np.ndarray] = []
        self._pending_positions: list[np.ndarray] = []
        self._pending_count = 0
        self._needs_rebuild = True  # the structure must be rebuilt from scratch
        self._stale = False  # the structure must re-file some points (partial refresh)
        self._rebuild_count = 0
        self._refresh_count = 0
        self._flush_count = 0
        self._regions = DirtyRegionGrid(self._bounds or (0.0, 0.0, 1.0, 1.0), self._region_size)
        self.build(positions)

    # ----------------------------------------------------------------- state
    @property
    def update_mode(self) -> UpdateMode:
        """When updates reach the structure (see :class:`UpdateMode`)."""
        return self._update_mode

    @property
    def bounds(self) -> Bounds | None:
        """``(xmin, ymin, xmax, ymax)`` of the world, or None when positions are unconstrained."""
        return self._bounds

    @property
    def positions(self) -> np.ndarray:
        """``(n, 2) float64`` current positions (pending updates applied); read only."""
        self._apply_pending()
        view = self._positions.view()
        view.flags.writeable = False
        return view

    def __len__(self) -> int:
        """Number of indexed points (pending updates included)."""
        return len(self._positions)

    def stats(self) -> IndexStats:
        """Counters of the index's upkeep.

        Returns:
            :class:`IndexStats`: size, rebuilds, partial refreshes, flushes, pending updates and
            dirty regions.
        """
        return IndexStats(
            size=len(self._positions),
            rebuild_count=self._rebuild_count,
            refresh_count=self._refresh_count,
            flush_count=self._flush_count,
            pending_updates=self._pending_count,
            dirty_regions=self._regions.count,
        )

    @property
    def dirty_regions(self) -> DirtyRegionGrid:
        """The region grid recording where positions changed since the last rebuild."""
        return self._regions

    # -------------------------------------------------------------- mutation
    def build(self, positions: np.ndarray) -> None:
        """Index exactly these positions.

        ``positions`` is ``(n, 2)``; queued updates are discarded. Nothing is rebuilt
        when they equal the indexed positions and no change is outstanding.
        """
        array = check_positions("positions", positions, self._bounds)
        self._discard_pending()
        if (
            not self._needs_rebuild
            and not self._stale
            and array.shape == self._positions.shape
            and np.array_equal(array, self._positions)
        ):
            return
        self._positions = np.array(array, dtype=np.float64, order="C", copy=True)
        self._needs_rebuild = True
        self._sync_structure()

    def update(self, rows: np.ndarray, new_positions: np.ndarray) -> None:
        """Move the points at ``(r,)`` rows to ``(r, 2)`` positions; the last write to a row wins."""
        rows = check_rows(rows, len(self._positions))
        new = check_positions("new_positions", new_positions, self._bounds)
        if len(new) != len(rows):
            raise ValueError(f"update got {len(rows)} rows but {len(new)} new positions")
        if len(rows) == 0:
            return
        if self._update_mode is UpdateMode.IMMEDIATE:
            self._apply_moves(rows, new)
            self._sync_structure()
            return
        old = self._positions[rows]
        moved = (old != new).any(axis=1)
        self._regions.mark(old[moved])
        self._regions.mark(new[moved])
        self._pending_rows.append(rows.copy())
        self._pending_positions.append(np.array(new, dtype=np.float64, copy=True))
        self._pending_count += len(rows)
        if self._pending_count >= self._batch_threshold:
            self.flush()

    def insert(self, new_positions: np.ndarray) -> np.ndarray:
        """Append ``(r, 2)`` points; returns their rows ``n..n+r-1`` as ``(r,) int64``."""
        new = check_positions("new_positions", new_positions, self._bounds)
        self._apply_pending()
        start = len(self._positions)
        if len(new):
            self._positions = np.concatenate([self._positions, new.astype(np.float64, copy=False)])
            self._regions.mark(new)
            self._on_inserted(start)
            if self._update_mode is UpdateMode.IMMEDIATE:
                self._sync_structure()
        return np.arange(start, start + len(new), dtype=np.int64)

    def remove(self, rows: np.ndarray) -> None:
        """Drop the points at ``rows``; the rest keep their order and are renumbered from 0."""
        rows = check_rows(rows, len(self._positions))
        self._apply_pending()
        if len(rows) == 0:
            return
        keep = np.ones(len(self._positions), dtype=bool)
        keep[rows] = False
        self._regions.mark(self._positions[rows])
        self._positions = self._positions[keep]
        self._on_removed(keep)
        if self._update_mode is UpdateMode.IMMEDIATE:
            self._sync_structure()

    def flush(self) -> None:
        """Apply queued updates and bring the structure up to date."""
        self._apply_pending()
        self._sync_structure()

    # ----------------------------------------------------------------- queries
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
        r = check_radius(radius)
        single = np.ndim(points) == 1
        array = check_query_points(points)
        self._prepare_query(r)
        query_rows, point_rows = self._radius_pairs(array, r)
        result = Neighbors.from_pairs(query_rows, point_rows, len(array), len(self._positions))
        return result[0] if single else result

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
        query_rows, _ = self._radius_pairs(array, r)
        return np.bincount(query_rows, minlength=len(array)).astype(np.int64)

    def query_nearest(self, points: np.ndarray, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest rows of each point, ties broken by the lower row.

        Args:
            points: ``(m, 2)`` query points.
            k: neighbours per point, ``>= 1``.

        Returns:
            ``(distances (m, k) float64, rows (m, k) int64)``, nearest first; where fewer than
            ``k`` points exist the rest are ``inf`` and ``-1``.

        Raises:
            ValueError: a point is not finite or ``k`` is not an integer ``>= 1``.
        """
        k = check_k(k)
        array = check_query_points(points)
        self._prepare_query(None)
        return self._nearest(array, k)

    def query_range(self, bounds: np.ndarray) -> Neighbors | np.ndarray:
        """Rows inside closed boxes.

        Args:
            bounds: one box ``(4,)`` or ``(m, 4)`` boxes, each ``(xmin, ymin, xmax, ymax)``.

        Returns:
            One sorted ``(k,) int64`` array for a single box; :class:`Neighbors` for ``(m, 4)``.

        Raises:
            ValueError: a box is not finite or has ``max < min``.
        """
        boxes = np.asarray(bounds, dtype=np.float64)
        single = boxes.ndim == 1
        boxes = boxes.reshape(-1, 4) if boxes.size else boxes.reshape(0, 4)
        if boxes.ndim != 2 or boxes.shape[1] != 4:
            raise ValueError(f"range bounds must be (xmin, ymin, xmax, ymax) or (m, 4), got shape {np.shape(bounds)}")
        bad = ~np.isfinite(boxes).all(axis=1) | (boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1])
        if bad.any():
            box = tuple(boxes[np.argmax(bad)].tolist())
            raise ValueError(f"range bounds {box} are not a finite box with max >= min")
        self._prepare_query(None)
        lo, hi = boxes[:, :2], boxes[:, 2:]
        query_rows, point_rows = self._box_candidates(lo, hi)
        p = self._positions
        inside = (
            (p[point_rows, 0] >= lo[query_rows, 0])
            & (p[point_rows, 0] <= hi[query_rows, 0])
            & (p[point_rows, 1] >= lo[query_rows, 1])
            & (p[point_rows, 1] <= hi[query_rows, 1])
        )
        result = Neighbors.from_pairs(query_rows[inside], point_rows[inside], len(boxes), len(p))
        return result[0] if single else result

    # -------------------------------------------------- generic query helpers
    def _radius_pairs(self, points: np.ndarray, radius: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every (query row, point row) pair within the radius.

        Unordered ``(query_rows, point_rows)`` with ``dx*dx + dy*dy <= radius*radius``;
        ``radius`` is one number or ``(m,)`` per-query radii.
        """
        if len(points) == 0 or len(self._positions) == 0:
            return _EMPTY_ROWS, _EMPTY_ROWS
        # Pad the box so that rounding never drops a point the exact test keeps.
        pad = radius * (1.0 + 1e-9) + 1e-9 * (float(np.abs(points).max()) + 1.0)
        if np.ndim(pad):
            pad = pad[:, None]
        query_rows, point_rows = self._box_candidates(points - pad, points + pad)
        limit = radius * radius if not np.ndim(radius) else (radius * radius)[query_rows]
        keep = squared_distances(points, query_rows, self._positions, point_rows) <= limit
        return query_rows[keep], point_rows[keep]

    def _nearest(self, points: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest rows of each query point.

        One radius search per query: any ``min(k, n)`` distinct points bound the
        k-th distance from above, and points close in the index's sort order (``_locality``) give
        a tight bound. Every point within the bound is ranked by (squared distance, row).
        """
        m, n = len(points), len(self._positions)
        if m == 0 or n == 0:
            return np.full((m, k), np.inf), np.full((m, k), -1, dtype=np.int64)
        width = min(2 * k, n)
        order, slots = self._locality(points)
        first = np.clip(slots - width // 2, 0, n - width)
        window = order[first[:, None] + np.arange(width)]  # (m, width) distinct rows
        dx = points[:, 0, None] - self._positions[window, 0]
        dy = points[:, 1, None] - self._positions[window, 1]
        squared = dx * dx + dy * dy
        bound = np.partition(squared, min(k, n) - 1, axis=1)[:, min(k, n) - 1]
        cap = np.sqrt(bound) * (1.0 + 1e-9) + 1e-12
        # Grow each query's radius from the density estimate towards its bound, so a loose bound
        # never drags in a whole distant cluster.
        extent = self._positions.max(axis=0) - self._positions.min(axis=0)
        start = math.sqrt(k * float(extent[0] * extent[1]) / (math.pi * n)) + 1e-12
        reach = np.minimum(cap, start)
        needed = min(k, n)
        todo = np.arange(m, dtype=np.int64)
        found_q, found_p = [], []
        while len(todo):
            query_rows, point_rows = self._radius_pairs(points[todo], reach[todo])
            done = (np.bincount(query_rows, minlength=len(todo)) >= needed) | (reach[todo] >= cap[todo])
            keep = done[query_rows]
            found_q.append(todo[query_rows[keep]])
            found_p.append(point_rows[keep])
            todo = todo[~done]
            reach[todo] = np.minimum(reach[todo] * 1.5, cap[todo])
        query_rows, point_rows = np.concatenate(found_q), np.concatenate(found_p)
        squared = squared_distances(points, query_rows, self._positions, point_rows)
        return top_k_from_pairs(query_rows, point_rows, squared, m, k)

    def _locality(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A locality-preserving order of the rows and each query point's slot in it.

        ``(order (n,), slots (m,))``: rows in an order where neighbours in space tend to be
        neighbours in the order, and where each query point would sit in it (default: by x).
        """
        order = np.argsort(self._positions[:, 0], kind="stable")
        return order, np.searchsorted(self._positions[order, 0], points[:, 0])

    # -------------------------------------------------------------- upkeep
    def _prepare_query(self, radius: float | None) -> None:
        """Flush queued updates and refresh the structure before answering a query."""
        if self._pending_count or self._needs_rebuild or self._stale:
            self.flush()

    def _discard_pending(self) -> None:
        self._pending_rows.clear()
        self._pending_positions.clear()
        self._pending_count = 0

    def _apply_pending(self) -> None:
        if not self._pending_count:
            return
        rows = np.concatenate(self._pending_rows)
        new = np.concatenate(self._pending_positions)
        self._discard_pending()
        self._flush_count += 1
        self._apply_moves(rows, new, mark_regions=False)  # marked when queued

    def _apply_moves(self, rows: np.ndarray, new: np.ndarray, mark_regions: bool = True) -> None:
        last = _keep_last_occurrence(rows, len(self._positions))
        if last is not None:
            rows, new = rows[last], new[last]
        old = self._positions[rows]
        changed = (old != new).any(axis=1)
        if not changed.all():
            if not changed.any():
                return
            rows, old, new = rows[changed], old[changed], new[changed]
        if mark_regions:
            self._regions.mark(old)
            self._regions.mark(new)
        self._positions[rows] = new
        self._on_moved(rows)

    def _sync_structure(self) -> None:
        if self._needs_rebuild:
            self._full_rebuild()
        elif self._stale:
            self._stale = False
            self._refresh_count += 1
            self._refresh_structure()

    def _full_rebuild(self) -> None:
        self._needs_rebuild = False
        self._stale = False
        if self._bounds is None:
            frame = _bounding_frame(self._positions)
            if frame != self._regions.frame:
                self._regions = DirtyRegionGrid(frame, self._region_size)
        self._regions.clear()
        if self._rebuild_structure():
            self._rebuild_count += 1

    # ------------------------------------------------------ per-kind hooks
    def _rebuild_structure(self) -> bool:
        """Rebuild from ``self._positions``; return False when the structure was already current."""
        raise NotImplementedError

    def _refresh_structure(self) -> None:
        """Re-file the points flagged by the ``_on_*`` hooks (default: rebuild)."""
        if self._rebuild_structure():
            self._rebuild_count += 1

    def _box_candidates(self, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Candidate pairs for each query box (a superset of the exact answer).

        Unordered ``(query_rows, point_rows)`` pairs, a superset of the points inside each closed
        box ``[lo[i], hi[i]]`` (``(m, 2)`` corners), without duplicate pairs.
        """
        raise NotImplementedError

    def _on_moved(self, rows: np.ndarray) -> None:
        self._needs_rebuild = True

    def _on_inserted(self, start: int) -> None:
        self._needs_rebuild = True

    def _on_removed(self, keep: np.ndarray) -> None:
        self._needs_rebuild = True


class KeyedPointsMixin:
    """Incremental upkeep for an index that files points under integer keys.

    Every point has one integer key (a Morton
    code, a grid cell id); the index answers queries from the points sorted by key.

    The index keeps ``_keys (n,) int64``, the key of every row, and implements
    ``_keys_of(points (k, 2)) -> (k,) int64``. A move, insert or removal updates the affected keys
    and marks the structure stale, so ``_refresh_structure`` re-sorts instead of rebuilding; while
    a full rebuild is pending these hooks do nothing. Mix in before :class:`BaseSpatialIndex`.
    """

    _keys: np.ndarray

    def _keys_of(self, points: np.ndarray) -> np.ndarray:
        """``(k,) int64`` keys of ``(k, 2)`` points."""
        raise NotImplementedError

    def _on_moved(self, rows: np.ndarray) -> None:
        if self._needs_rebuild:
            return
        keys = self._keys_of(self._positions[rows])
        if not np.array_equal(keys, self._keys[rows]):
            self._keys[rows] = keys
            self._stale = True

    def _on_inserted(self, start: int) -> None:
        if not self._needs_rebuild:
            self._keys = np.concatenate([self._keys, self._keys_of(self._positions[start:])])
            self._stale = True

    def _on_removed(self, keep: np.ndarray) -> None:
        if not self._needs_rebuild:
            self._keys = self._keys[keep]
            self._stale = True


def _bounding_frame(positions: np.ndarray) -> Bounds:
    if len(positions) == 0:
        return (0.0, 0.0, 1.0, 1.0)
    xmin, ymin = positions.min(axis=0)
    xmax, ymax = positions.max(axis=0)
    return (float(xmin), float(ymin), float(xmax), float(ymax))
