"""Configuration of each agent's local multi-channel view.

The view of an agent is a ``(C, 2R+1, 2R+1)`` float32 array: ``C`` channels (named in
``channels``, looked up in :mod:`farm.observation.registry`) over a square of cells one world
unit wide, centred on the cell that holds the agent. See :mod:`farm.observation.grid` for the
exact world-to-cell mapping.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from farm.utils.validation import (
    coerce_enum,
    require_finite_pair,
    require_int_at_least,
    require_non_negative,
    require_positive,
    require_probability,
)

__all__ = ["ObservationConfig", "ResourceInterpolation", "ResourceSource", "DEFAULT_CHANNELS", "ALL_CHANNELS"]

# The cheap default set (what the engine loop uses unless configured otherwise).
DEFAULT_CHANNELS = ("SELF_HP", "ALLIES_HP", "ENEMIES_HP", "RESOURCES")

# Every built-in channel, in AgentFarm's order.
ALL_CHANNELS = (
    "SELF_HP",
    "ALLIES_HP",
    "ENEMIES_HP",
    "RESOURCES",
    "OBSTACLES",
    "TERRAIN_COST",
    "VISIBILITY",
    "KNOWN_EMPTY",
    "DAMAGE_HEAT",
    "TRAILS",
    "ALLY_SIGNAL",
    "GOAL",
    "LANDMARKS",
)


class ResourceInterpolation(Enum):
    """How a resource node's amount is placed on the cells of the RESOURCES channel.

    NEAREST: the whole amount goes to the cell that contains the node (cheapest).
    BILINEAR: the amount is spread over the four cells whose centres surround the node, with
    bilinear weights (smoother: a node's sub-cell position is visible; four times the splats).
    """

    NEAREST = "nearest"
    BILINEAR = "bilinear"


class ResourceSource(Enum):
    """Where the RESOURCES windows come from.

    SPATIAL: a range query around each observer (a k-d tree of the nodes) and a splat of the
    nodes found into that observer's window; cost grows with agents x nearby nodes, no world grid.
    GRID: a world-sized padded resource grid in RAM, re-splatted when node amounts change, and a
    window sliced from it per observer (cheapest for dense populations).
    MEMMAP: as GRID, but the world grid is a numpy memmap on a scratch file in the temporary
    directory (unlinked once mapped on POSIX, so no exit leaves it behind); for worlds whose grid
    should not live in RAM.
    """

    SPATIAL = "spatial"
    GRID = "grid"
    MEMMAP = "memmap"


@dataclass(frozen=True)
class ObservationConfig:
    """Settings of the agents' local views and of their channels.

    Attributes:
        radius: R; each view is ``(C, 2R+1, 2R+1)`` cells of one world unit, centred on the agent.
        channels: channel names in output order (built-ins: :data:`ALL_CHANNELS`; more can be
            registered with :func:`farm.observation.registry.register_channel`).
        interpolation: how resource amounts are placed on cells (RESOURCES, KNOWN_EMPTY use nearest).
        resource_source: where RESOURCES windows come from (spatial query, RAM grid, memmap grid).
        cache: reuse the previous observation of an agent that kept its cell, health and type and
            whose window saw no change; costs a comparison of the world layers per build.
        visibility_radius: VISIBILITY and KNOWN_EMPTY cover cells whose centre lies within this many
            cells of the agent's cell centre (Euclidean); None means ``radius``.
        trails_decay, damage_heat_decay, ally_signal_decay, known_empty_decay: fraction of a
            persistent channel's value lost per step (value *= 1 - decay before new deposits).
        feature_seed: seed of the static world features (TERRAIN_COST field, random LANDMARKS).
        terrain_scale: TERRAIN_COST is smooth noise interpolated from a lattice this many cells apart.
        goal: world position of the GOAL; None means the world's centre.
        landmarks: world positions of LANDMARKS; empty means ``landmark_count`` seeded positions.
        landmark_count: number of seeded landmarks when ``landmarks`` is empty.
    """

    radius: int = 5
    channels: tuple[str, ...] = DEFAULT_CHANNELS
    interpolation: ResourceInterpolation = ResourceInterpolation.NEAREST
    resource_source: ResourceSource = ResourceSource.GRID
    cache: bool = False
    visibility_radius: float | None = None
    trails_decay: float = 0.1
    damage_heat_decay: float = 0.2
    ally_signal_decay: float = 0.3
    known_empty_decay: float = 0.05
    feature_seed: int = 0
    terrain_scale: float = 10.0
    goal: tuple[float, float] | None = None
    landmarks: tuple[tuple[float, float], ...] = ()
    landmark_count: int = 8

    def __post_init__(self) -> None:
        s = "observation"
        require_int_at_least(s, "radius", self.radius, 1)
        if isinstance(self.channels, str) or not isinstance(self.channels, (tuple, list)):
            raise ValueError(f"{s}.channels must be a sequence of channel names, got {self.channels!r}")
        names = tuple(str(c).upper() if isinstance(c, str) else c for c in self.channels)
        if not names:
            raise ValueError(f"{s}.channels must name at least one channel, got {self.channels!r}")
        from farm.observation.registry import registered_channel_names

        known = registered_channel_names()
        for name in names:
            if name not in known:
                raise ValueError(f"{s}.channels: unknown channel {name!r}; registered: {', '.join(known)}")
        if len(set(names)) != len(names):
            raise ValueError(f"{s}.channels must not repeat a channel, got {self.channels!r}")
        object.__setattr__(self, "channels", names)
        object.__setattr__(
            self, "interpolation", coerce_enum(s, "interpolation", ResourceInterpolation, self.interpolation)
        )
        object.__setattr__(
            self, "resource_source", coerce_enum(s, "resource_source", ResourceSource, self.resource_source)
        )
        if not isinstance(self.cache, bool):
            raise ValueError(f"{s}.cache must be a boolean, got {self.cache!r}")
        if self.visibility_radius is not None:
            require_non_negative(s, "visibility_radius", self.visibility_radius)
        for name in ("trails_decay", "damage_heat_decay", "ally_signal_decay", "known_empty_decay"):
            require_probability(s, name, getattr(self, name))
        require_int_at_least(s, "feature_seed", self.feature_seed, 0)
        require_positive(s, "terrain_scale", self.terrain_scale)
        if self.goal is not None:
            object.__setattr__(self, "goal", require_finite_pair(s, "goal", self.goal))
        if isinstance(self.landmarks, str) or not isinstance(self.landmarks, (tuple, list)):
            raise ValueError(f"{s}.landmarks must be a sequence of (x, y) pairs, got {self.landmarks!r}")
        object.__setattr__(self, "landmarks", tuple(require_finite_pair(s, "landmarks", p) for p in self.landmarks))
        require_int_at_least(s, "landmark_count", self.landmark_count, 0)

    @property
    def size(self) -> int:
        """S = 2R + 1, the side of a view."""
        return 2 * self.radius + 1

    @property
    def view_radius(self) -> float:
        """The VISIBILITY / KNOWN_EMPTY radius in cells."""
        return float(self.radius) if self.visibility_radius is None else float(self.visibility_radius)
