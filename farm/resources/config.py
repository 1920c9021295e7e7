"""Configuration of resource nodes: placement, amounts, regeneration and storage backend."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from farm.utils.validation import (
    coerce_enum,
    require_int_at_least,
    require_non_negative,
    require_positive,
    require_probability,
)

__all__ = ["Density", "Placement", "RegenerationKind", "ResourceStorage", "ResourceConfig", "DENSITY_NODES_PER_AREA"]


class Density(Enum):
    """Node-count presets, scaled by world area (see :data:`DENSITY_NODES_PER_AREA`)."""

    SPARSE = "sparse"
    MEDIUM = "medium"
    DENSE = "dense"


# Nodes per square world unit: 100x100 -> 100 / 300 / 1000 nodes.
DENSITY_NODES_PER_AREA = {Density.SPARSE: 0.01, Density.MEDIUM: 0.03, Density.DENSE: 0.1}


class Placement(Enum):
    """Initial node positions: UNIFORM over the world, or CLUSTERED around random centres."""

    UNIFORM = "uniform"
    CLUSTERED = "clustered"


class RegenerationKind(Enum):
    """How resource nodes regrow each step.

    PROBABILISTIC: each node gains ``regen_amount`` with probability ``regen_rate``.
    DETERMINISTIC: each node gains ``regen_amount * regen_rate`` every step.
    """

    PROBABILISTIC = "probabilistic"
    DETERMINISTIC = "deterministic"


class ResourceStorage(Enum):
    """Where resource node amounts are stored.

    LIST: plain Python objects (the reference). ARRAY: numpy in RAM (default).
    MEMMAP: a numpy memmap on a scratch file in the temporary directory (unlinked once mapped on
    POSIX, so no exit leaves it behind).
    """

    LIST = "list"
    ARRAY = "array"
    MEMMAP = "memmap"


@dataclass(frozen=True)
class ResourceConfig:
    """Resource nodes: how many, where, how full, how they regrow and where amounts are stored.

    Attributes:
        density: preset node count for the world's area, used when ``count`` is None.
        count: explicit node count (overrides ``density``).
        max_amount: cap of each node's amount.
        initial_amount: starting amount of every node (None: ``max_amount``).
        regeneration: the regeneration algorithm.
        regen_rate: probability (or fraction, for DETERMINISTIC) of regeneration per step.
        regen_amount: amount added by one regeneration.
        placement: uniform or clustered initial positions.
        cluster_count: clusters for CLUSTERED placement.
        cluster_spread: cluster standard deviation, as a fraction of the world's smaller side.
        storage: the backend holding node amounts.
    """

    density: Density = Density.MEDIUM
    count: int | None = None
    max_amount: float = 30.0
    initial_amount: float | None = None
    regeneration: RegenerationKind = RegenerationKind.PROBABILISTIC
    regen_rate: float = 0.1
    regen_amount: float = 1.0
    placement: Placement = Placement.UNIFORM
    cluster_count: int = 5
    cluster_spread: float = 0.08
    storage: ResourceStorage = ResourceStorage.ARRAY

    def __post_init__(self) -> None:
        s = "resources"
        object.__setattr__(self, "density", coerce_enum(s, "density", Density, self.density))
        object.__setattr__(self, "regeneration", coerce_enum(s, "regeneration", RegenerationKind, self.regeneration))
        object.__setattr__(self, "placement", coerce_enum(s, "placement", Placement, self.placement))
        object.__setattr__(self, "storage", coerce_enum(s, "storage", ResourceStorage, self.storage))
        if self.count is not None:
            require_int_at_least(s, "count", self.count, 0)
        require_positive(s, "max_amount", self.max_amount)
        if self.initial_amount is not None:
            require_non_negative(s, "initial_amount", self.initial_amount)
            if self.initial_amount > self.max_amount:
                raise ValueError(f"resources.initial_amount must be <= max_amount, got {self.initial_amount!r}")
        require_probability(s, "regen_rate", self.regen_rate)
        require_non_negative(s, "regen_amount", self.regen_amount)
        require_int_at_least(s, "cluster_count", self.cluster_count, 1)
        require_positive(s, "cluster_spread", self.cluster_spread)

    def node_count(self, width: float, height: float) -> int:
        """Number of nodes in a ``width`` x ``height`` world.

        Args:
            width: world width.
            height: world height.

        Returns:
            ``count`` when set, else the ``density`` preset's nodes per unit area times the area, rounded.
        """
        if self.count is not None:
            return self.count
        return int(round(DENSITY_NODES_PER_AREA[self.density] * width * height))

    @property
    def start_amount(self) -> float:
        """Every node's amount at the start: ``initial_amount``, or ``max_amount`` when None."""
        return self.max_amount if self.initial_amount is None else self.initial_amount
