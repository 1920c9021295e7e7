"""Configuration of the spatial indexes the engine keeps (one for agents, one for resources)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from farm.utils.validation import coerce_enum, require_int_at_least, require_positive, require_probability

__all__ = ["SpatialIndexKind", "UpdateMode", "SpatialConfig"]


class SpatialIndexKind(Enum):
    """Which index answers neighbourhood queries. Every kind gives the same simulation."""

    KDTREE = "kdtree"
    QUADTREE = "quadtree"
    SPATIAL_HASH = "spatial_hash"
    BRUTE_FORCE = "brute_force"


class UpdateMode(Enum):
    """When position updates reach the index structure.

    IMMEDIATE: every ``update`` call rewrites positions and refreshes the structure at once.
    BATCHED: updates are queued and applied together when too many are pending, at the start of
    the next query, or on ``flush()``; one refresh serves many updates.
    """

    IMMEDIATE = "immediate"
    BATCHED = "batched"


@dataclass(frozen=True)
class SpatialConfig:
    """Spatial index settings, validated at construction.

    Attributes:
        index: the index kind used for agents and resources.
        update_mode: immediate or batched application of ``update`` calls (batched: fewer refreshes,
            at the expense of a flush in the next query).
        batch_threshold: pending updated rows that force a flush in batched mode (bounds memory and
            staleness; larger values merge more updates into one refresh).
        region_size: side of a dirty region (world units); smaller regions track changes more
            precisely at the cost of a larger bookkeeping grid.
        rebuild_fraction: share of dirty regions above which an index that can refresh part of itself
            (quadtree) rebuilds from scratch instead.
        cell_size: spatial-hash cell side; None derives it from the first query radius (one cell per
            radius, a query touches at most 3x3 cells). Smaller cells give fewer candidates per query
            at the expense of more cells to scan.
        quadtree_capacity: points a quadtree leaf holds before it splits (small: faster queries, fewer
            candidates, at the expense of a deeper tree and a longer build).
        quadtree_max_depth: maximum quadtree depth (bounds the work for many duplicate points).
        kdtree_leaf_size: leaf size of scipy's cKDTree (larger: a faster build at the expense of
            slower queries).
    """

    index: SpatialIndexKind = SpatialIndexKind.KDTREE
    update_mode: UpdateMode = UpdateMode.BATCHED
    batch_threshold: int = 4096
    region_size: float = 10.0
    rebuild_fraction: float = 0.5
    cell_size: float | None = None
    quadtree_capacity: int = 8
    quadtree_max_depth: int = 16
    kdtree_leaf_size: int = 16

    def __post_init__(self) -> None:
        """Coerce the enums and validate every option (ValueError names the bad one)."""
        object.__setattr__(self, "index", coerce_enum("spatial", "index", SpatialIndexKind, self.index))
        object.__setattr__(self, "update_mode", coerce_enum("spatial", "update_mode", UpdateMode, self.update_mode))
        require_int_at_least("spatial", "batch_threshold", self.batch_threshold, 1)
        require_positive("spatial", "region_size", self.region_size)
        require_probability("spatial", "rebuild_fraction", self.rebuild_fraction)
        if self.cell_size is not None:
            require_positive("spatial", "cell_size", self.cell_size)
        require_int_at_least("spatial", "quadtree_capacity", self.quadtree_capacity, 1)
        require_int_at_least("spatial", "quadtree_max_depth", self.quadtree_max_depth, 1)
        if self.quadtree_max_depth > 24:
            raise ValueError(f"spatial.quadtree_max_depth must be <= 24, got {self.quadtree_max_depth!r}")
        require_int_at_least("spatial", "kdtree_leaf_size", self.kdtree_leaf_size, 1)

    def index_options(self) -> dict[str, Any]:
        """Keyword options for :func:`~farm.spatial.factory.make_index`.

        As in ``make_index(self.index, positions, bounds=..., **options)``:
        the update options every kind takes plus those of the selected kind.
        """
        options: dict[str, Any] = {
            "update_mode": self.update_mode,
            "batch_threshold": self.batch_threshold,
            "region_size": self.region_size,
        }
        if self.index is SpatialIndexKind.KDTREE:
            options["leaf_size"] = self.kdtree_leaf_size
        elif self.index is SpatialIndexKind.QUADTREE:
            options.update(
                capacity=self.quadtree_capacity,
                max_depth=self.quadtree_max_depth,
                rebuild_fraction=self.rebuild_fraction,
            )
        elif self.index is SpatialIndexKind.SPATIAL_HASH:
            options["cell_size"] = self.cell_size
        return options
