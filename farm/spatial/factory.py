"""``make_index``: the one entry point that picks an index kind."""

from __future__ import annotations

import numpy as np

from farm.spatial.base import BaseSpatialIndex
from farm.spatial.brute_force import BruteForceIndex
from farm.spatial.config import SpatialIndexKind
from farm.spatial.kdtree import KDTreeIndex
from farm.spatial.quadtree import QuadtreeIndex
from farm.spatial.spatial_hash import SpatialHashIndex

__all__ = ["make_index", "INDEX_CLASSES"]

INDEX_CLASSES: dict[SpatialIndexKind, type[BaseSpatialIndex]] = {
    SpatialIndexKind.KDTREE: KDTreeIndex,
    SpatialIndexKind.QUADTREE: QuadtreeIndex,
    SpatialIndexKind.SPATIAL_HASH: SpatialHashIndex,
    SpatialIndexKind.BRUTE_FORCE: BruteForceIndex,
}


def make_index(
    kind: SpatialIndexKind | str, positions: np.ndarray, bounds: object = None, **options
) -> BaseSpatialIndex:
    """Build a spatial index of ``kind`` over ``(n, 2)`` positions.

    Build an index of ``kind`` (the enum or its value, e.g. ``"quadtree"``) over ``(n, 2)``
    positions. ``bounds``: ``(width, height)`` or ``(xmin, ymin, xmax, ymax)``; positions outside
    it are rejected. ``options``: the kind's keywords (see ``SpatialConfig.index_options``).
    """
    if not isinstance(kind, SpatialIndexKind):
        try:
            kind = SpatialIndexKind(str(kind).lower()) if isinstance(kind, str) else SpatialIndexKind(kind)
        except ValueError:
            choices = ", ".join(member.value for member in SpatialIndexKind)
            raise ValueError(f"unknown spatial index kind {kind!r}; choose one of {choices}") from None
    return INDEX_CLASSES[kind](positions, bounds, **options)
