"""Spatial indexes behind one protocol.

Spatial indexes: KD-tree, quadtree, spatial hash and a brute-force reference behind one
protocol, with immediate or batched updates and dirty-region tracking.
"""

from farm.spatial.base import BaseSpatialIndex
from farm.spatial.brute_force import BruteForceIndex
from farm.spatial.config import SpatialConfig, SpatialIndexKind, UpdateMode
from farm.spatial.dirty_regions import DirtyRegionGrid
from farm.spatial.factory import make_index
from farm.spatial.kdtree import KDTreeIndex
from farm.spatial.neighbors import Neighbors
from farm.spatial.protocol import SpatialIndex
from farm.spatial.quadtree import QuadtreeIndex
from farm.spatial.spatial_hash import SpatialHashIndex
from farm.spatial.stats import IndexStats

__all__ = [
    "SpatialIndex",
    "SpatialIndexKind",
    "UpdateMode",
    "SpatialConfig",
    "Neighbors",
    "IndexStats",
    "DirtyRegionGrid",
    "BaseSpatialIndex",
    "KDTreeIndex",
    "QuadtreeIndex",
    "SpatialHashIndex",
    "BruteForceIndex",
    "make_index",
]
