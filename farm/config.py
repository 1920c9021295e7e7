"""The simulation's configuration: frozen dataclasses, one section per component.

Every section validates itself when built and raises ``ValueError`` naming the field and the bad
value. :func:`load_config` reads TOML or JSON; :meth:`SimulationConfig.with_overrides` applies
dotted overrides (what the CLI flags produce).
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
import typing
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from farm.decision.config import DecisionConfig
from farm.observation.config import ObservationConfig
from farm.resources.config import ResourceConfig
from farm.spatial.config import SpatialConfig
from farm.storage.config import StorageConfig
from farm.utils.validation import require_int_at_least, require_non_negative, require_positive

__all__ = [
    "AgentConfig",
    "SimulationConfig",
    "WorldConfig",
    "apply_overrides",
    "config_from_dict",
    "config_to_dict",
    "load_config",
    "load_config_data",
    "merge_config_data",
]


@dataclass(frozen=True)
class WorldConfig:
    """The world's extent.

    Attributes:
        width, height: extent of the continuous world; positions lie in ``[0, width] x [0, height]``.
    """

    width: float = 100.0
    height: float = 100.0

    def __post_init__(self) -> None:
        require_positive("world", "width", self.width)
        require_positive("world", "height", self.height)


@dataclass(frozen=True)
class AgentConfig:
    """Initial populations and the rules every agent lives by.

    Attributes:
        system, independent, control: initial agent count of each type.
        max_population: population cap for reproduction (None: twice the initial total).
        initial_resources: resource level of initial agents.
        max_health: health of a new agent and the cap on health.
        consumption: resources each agent consumes every step.
        starvation_threshold: an agent dies when its starvation counter passes this.
        move_speed: distance covered by one MOVE.
        perception_radius: how far an agent looks for a resource node to move toward.
        gather_range, gather_amount: reach and amount of one GATHER.
        share_range, share_amount: reach and amount of one SHARE.
        attack_range, attack_damage: reach and damage of one ATTACK.
        defend_factor: damage multiplier for an agent that DEFENDs this step.
        reproduce_threshold: resources needed to REPRODUCE.
        reproduce_cost: resources the parent pays.
        offspring_resources: resources the child starts with.
        birth_radius: children are placed within this distance (per axis) of the parent.
        survival_bonus, death_penalty, health_reward_weight: reward terms.
    """

    system: int = 10
    independent: int = 10
    control: int = 10
    max_population: int | None = None
    initial_resources: float = 10.0
    max_health: float = 100.0
    consumption: float = 0.3
    starvation_threshold: int = 20
    move_speed: float = 2.0
    perception_radius: float = 5.0
    gather_range: float = 3.0
    gather_amount: float = 2.0
    share_range: float = 5.0
    share_amount: float = 1.0
    attack_range: float = 3.0
    attack_damage: float = 10.0
    defend_factor: float = 0.5
    reproduce_threshold: float = 15.0
    reproduce_cost: float = 10.0
    offspring_resources: float = 5.0
    birth_radius: float = 2.0
    survival_bonus: float = 0.1
    death_penalty: float = 10.0
    health_reward_weight: float = 0.1

    def __post_init__(self) -> None:
        s = "agents"
        for name in ("system", "independent", "control"):
            require_int_at_least(s, name, getattr(self, name), 0)
        if self.total == 0:
            raise ValueError("agents: at least one agent is needed, got 0 of every type")
        if self.max_population is not None:
            require_int_at_least(s, "max_population", self.max_population, 1)
        require_int_at_least(s, "starvation_threshold", self.starvation_threshold, 0)
        for name in ("max_health", "move_speed", "perception_radius", "gather_range", "share_range", "attack_range"):
            require_positive(s, name, getattr(self, name))
        for name in (
            "initial_resources", "consumption", "gather_amount", "share_amount", "attack_damage",
            "defend_factor", "reproduce_threshold", "reproduce_cost", "offspring_resources",
            "birth_radius", "survival_bonus", "death_penalty", "health_reward_weight",
        ):
            require_non_negative(s, name, getattr(self, name))
        if self.reproduce_threshold < self.reproduce_cost:
            raise ValueError(
                f"agents.reproduce_threshold must be >= reproduce_cost ({self.reproduce_cost}), "
                f"got {self.reproduce_threshold!r}"
            )

    @property
    def total(self) -> int:
        """Initial agents, all types together."""
        return self.system + self.independent + self.control

    @property
    def population_cap(self) -> int:
        """``max_population``, or twice the initial total when it is None."""
        return self.max_population if self.max_population is not None else 2 * self.total

    def counts(self) -> tuple[int, int, int]:
        """Initial counts in :class:`~farm.core.state.AgentType` order."""
        return (self.system, self.independent, self.control)


@dataclass(frozen=True)
class SimulationConfig:
    """The whole configuration. ``seed`` fixes every random draw of the run."""

    seed: int = 0
    world: WorldConfig = field(default_factory=WorldConfig)
    agents: AgentConfig = field(default_factory=AgentConfig)
    resources: ResourceConfig = field(default_factory=ResourceConfig)
    observation: ObservationConfig = field(default_factory=ObservationConfig)
    spatial: SpatialConfig = field(default_factory=SpatialConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    decision: DecisionConfig = field(default_factory=DecisionConfig)

    def __post_init__(self) -> None:
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or not 0 <= self.seed < 2**63:
            raise ValueError(f"seed must be an integer in [0, 2**63), got {self.seed!r}")

    @classmethod
    def preset(cls, name: str) -> "SimulationConfig":
        """A named workload, e.g. ``SimulationConfig.preset("agentfarm")``; see :mod:`farm.presets`."""
        from farm.presets import preset_config

        return preset_config(name)

    def with_overrides(self, overrides: dict[str, Any]) -> "SimulationConfig":
        """A copy with dotted keys replaced, e.g. ``{"world.width": 50, "seed": 3}``."""
        data = config_to_dict(self)
        apply_overrides(data, overrides)
        return config_from_dict(SimulationConfig, data)

    def to_json(self) -> str:
        """The config as JSON (enums as their values, keys sorted)."""
        return json.dumps(config_to_dict(self), sort_keys=True)


def apply_overrides(data: dict[str, Any], overrides: dict[str, Any]) -> None:
    """Replace dotted keys, e.g. ``{"world.width": 50}``, in the raw config table ``data``, in place.

    ``data`` is what :func:`config_to_dict` gives. Nothing is validated but the keys: layers
    applied one over another are validated once, together (:func:`config_from_dict`).

    Raises:
        ValueError: a key names no section or field of ``data``.
    """
    for dotted, value in overrides.items():
        node = data
        *parents, leaf = dotted.split(".")
        for part in parents:
            if part not in node or not isinstance(node[part], dict):
                raise ValueError(f"unknown config section {dotted!r}")
            node = node[part]
        if leaf not in node:
            raise ValueError(f"unknown config field {dotted!r}")
        node[leaf] = value


def config_to_dict(config: Any) -> dict[str, Any]:
    """Plain dict (enums as their values) of a config dataclass."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value):
            value = config_to_dict(value)
        elif isinstance(value, Enum):
            value = value.value
        elif isinstance(value, tuple):
            value = [v.value if isinstance(v, Enum) else v for v in value]
        out[f.name] = value
    return out


def config_from_dict(cls: type, data: dict[str, Any], section: str = "") -> Any:
    """Build config dataclass ``cls`` from a nested dict; unknown keys are errors."""
    if not isinstance(data, dict):
        raise ValueError(f"config section {section or 'root'!r} must be a table, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        where = f"{section}." if section else ""
        raise ValueError(f"unknown config field {where}{unknown[0]!r}")
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        hint = hints[name]
        if dataclasses.is_dataclass(hint):
            kwargs[name] = config_from_dict(hint, value, f"{section}.{name}" if section else name)
        elif isinstance(value, list):
            kwargs[name] = tuple(value)
        else:
            kwargs[name] = value
    try:
        return cls(**kwargs)
    except TypeError as exc:  # a validator compared a value of the wrong type: still the input's fault
        where = section or "root"
        raise ValueError(f"config section {where!r} holds a value of the wrong type: {exc}") from None


def load_config_data(path: str | Path) -> dict[str, Any]:
    """The raw table of a TOML (``.toml``) or JSON config file: only the keys the file sets.

    Raises ``ValueError`` in one line when the file cannot be read or parsed, or is not a table.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read config file {str(path)!r}: {exc.strerror or exc}") from None
    try:
        if path.suffix.lower() == ".toml":
            data = tomllib.loads(raw.decode("utf-8"))
        else:
            data = json.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        message = str(exc).replace("\n", " ")
        raise ValueError(f"cannot parse config file {str(path)!r}: {message}") from None
    if not isinstance(data, dict):
        raise ValueError(f"config file {str(path)!r} must hold a table of settings, got {type(data).__name__}")
    return data


def merge_config_data(base: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``data`` laid over it: tables merge key by key, any other value replaces."""
    out = dict(base)
    for key, value in data.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_config_data(out[key], value)
        else:
            out[key] = value
    return out


def load_config(path: str | Path, base: SimulationConfig | None = None) -> SimulationConfig:
    """Read a TOML (``.toml``) or JSON file into a validated :class:`SimulationConfig`.

    Args:
        path: the file.
        base: what the file's settings apply on top of (default: ``SimulationConfig()``); a
            setting the file leaves out keeps ``base``'s value, whatever that is.
    """
    data = load_config_data(path)
    return config_from_dict(SimulationConfig, merge_config_data(config_to_dict(base or SimulationConfig()), data))
