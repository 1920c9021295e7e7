"""Configuration of the spatial indexes the engine keeps (one for agents, one for resources)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from farm.utils.validation import coerce_enum

__all__ = ["SpatialIndexKind", "SpatialConfig"]


class SpatialIndexKind(Enum):
    """Which index answers neighbourhood queries. Every kind gives the same simulation."""

    KDTREE = "kdtree"
    QUADTREE = "quadtree"
    SPATIAL_HASH = "spatial_hash"
    BRUTE_FORCE = "brute_force"


@dataclass(frozen=True)
class SpatialConfig:
    """Attributes:
    index: the index kind used for agents and resources.
    """

    index: SpatialIndexKind = SpatialIndexKind.KDTREE

    def __post_init__(self) -> None:
        object.__setattr__(self, "index", coerce_enum("spatial", "index", SpatialIndexKind, self.index))
