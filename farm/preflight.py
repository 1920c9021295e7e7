"""Up-front checks of a run: will it fit in memory, and can it write every file it will write?

A configuration that cannot run should fail before anything is allocated, in one line that
names the field to change, not minutes later in a numpy ``MemoryError`` or on the first
checkpoint. :func:`check` runs both checks; the CLI calls it before it builds the simulation.

The memory figure is an estimate of what the run allocates up front and per step, built from
the shapes the engine uses (``(n, C, S, S) float32`` observations, ``(C, Hp, Wp) float32`` world
layers, replay buffers of ``2 x obs`` per transition, ...). It errs on the high side by a small
factor; it is meant to refuse configurations that are orders of magnitude too large, not to
predict peak RSS.

Path checks probe for real (a temporary file or directory is created and removed at once), since
``os.access`` answers "yes" to root even where the kernel refuses to create a file (``/proc``).
"""

from __future__ import annotations

import itertools
import math
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # farm.config imports the component configs; this module only reads them
    from farm.config import SimulationConfig

__all__ = [
    "MemoryItem", "check", "check_checkpoint_dir", "check_memory", "check_paths", "estimate_memory", "format_bytes",
]

# Bytes per agent row outside the observations: AgentState (62 B), the per-step copies the act
# and log stages make (~12 arrays of 8 B) and the neighbour pairs of a few neighbours. Rounded up.
_AGENT_ROW_BYTES = 512
# Bytes the log holds per agent and logged step: buffered columns of agent_states and
# agent_actions (~95 B) and of the interactions (~35 B), rounded up.
_LOG_ROW_BYTES = 160
# The writer's Python SQL parameters: one chunk of rows at a time (farm.storage.writer._CHUNK_ROWS,
# 1 024 rows of at most 10 parameters of ~32 B).
_LOG_PARAMETER_BYTES = 1024 * 10 * 32
# Bytes per resource node: position (16), amount (8), index and neighbour-pair share.
_NODE_BYTES = 64
# Copies of the observation array a step holds: the builder's output and the per-type slice the
# decide stage hands to each policy; learning policies also keep the previous observation.
_OBS_COPIES = 2
_OBS_COPIES_LEARNING = 3
# World layers per channel, at most (one per agent type), plus the builder's zero layer.
_LAYERS_PER_CHANNEL = 3
# Parameter copies of a learning network: weights, gradients, two Adam moments, a target net.
_PARAMETER_COPIES = 5
_NUM_ACTIONS = 7


@dataclass(frozen=True)
class MemoryItem:
    """One part of the memory estimate.

    Attributes:
        what: what the bytes hold, with the sizes that drive them (for the message).
        fields: the config fields to change to shrink it.
        nbytes: the estimate in bytes (a float: may be astronomically large or ``inf``).
    """

    what: str
    fields: str
    nbytes: float


def format_bytes(nbytes: float) -> str:
    """``1536 -> '1.5 KiB'``; beyond EiB in EiB; ``inf`` as 'inf'."""
    if not math.isfinite(nbytes):
        return "inf bytes"
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(nbytes) < 1024:
            return f"{nbytes:.0f} {unit}" if unit == "bytes" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    return f"{nbytes:.3g} EiB"


def _fmt(value: float) -> str:
    """A count for a message: exact when small, 3 significant digits when huge."""
    return f"{int(value)}" if value < 1e15 else f"{value:.3g}"


def estimate_memory(config: SimulationConfig) -> tuple[MemoryItem, ...]:
    """The run's memory needs, one :class:`MemoryItem` per part, in bytes.

    Every quantity is computed in floats, so a world of ``1e200 x 1e200`` gives ``inf`` instead
    of an ``OverflowError``.

    Args:
        config: the run's configuration.

    Returns:
        Items for agents, world layers, observation windows, resource nodes, and each learning
        policy's replay/rollout storage and networks (when any policy learns).
    """
    agents, world, obs, decision = config.agents, config.world, config.observation, config.decision
    cap = float(agents.population_cap)
    channels = len(obs.channels)
    size = 2.0 * obs.radius + 1.0
    obs_bytes = channels * size * size * 4.0  # one (C, S, S) float32 view
    kinds = {name: decision.policy_for(name) for name in ("system", "independent", "control")}
    learning = any(kind.learns for kind in kinds.values())
    items = [
        MemoryItem(f"agent state for a population cap of {_fmt(cap)}",
                   "agents.system/independent/control, agents.max_population", cap * _AGENT_ROW_BYTES),
    ]
    padded_cells = (math.ceil(world.height) + 2.0 * obs.radius) * (math.ceil(world.width) + 2.0 * obs.radius)
    layers = 1 + _LAYERS_PER_CHANNEL * channels
    items.append(MemoryItem(
        f"world layers ({layers} x {_fmt(padded_cells)} padded cells)",
        "world.width, world.height, observation.radius", padded_cells * (layers * 4.0 + 8.0),
    ))
    copies = _OBS_COPIES_LEARNING if learning else _OBS_COPIES
    items.append(MemoryItem(
        f"observation windows ({_fmt(cap)} agents x {channels} channels x {_fmt(size)}x{_fmt(size)} float32)",
        "agents.system/independent/control, observation.radius, observation.channels", cap * obs_bytes * copies,
    ))
    nodes = float(config.resources.count) if config.resources.count is not None else _node_count(config)
    items.append(MemoryItem(f"{_fmt(nodes)} resource nodes", "resources.count, resources.density", nodes * _NODE_BYTES))
    if config.storage.enabled:
        items.append(_log_item(config, cap))
    if "LANDMARKS" in obs.channels and not obs.landmarks:
        items.append(
            MemoryItem(f"{obs.landmark_count} landmarks", "observation.landmark_count", obs.landmark_count * 16.0)
        )
    if "TERRAIN_COST" in obs.channels:
        lattice = (math.ceil(world.height) / obs.terrain_scale + 3) * (math.ceil(world.width) / obs.terrain_scale + 3)
        items.append(
            MemoryItem(f"terrain lattice of {_fmt(lattice)} points", "observation.terrain_scale", lattice * 8.0)
        )
    if learning:
        counts = dict(zip(("system", "independent", "control"), agents.counts()))
        growth = cap - agents.total  # births may add this many agents of one type
        for name, kind in kinds.items():
            if kind.learns:
                items.extend(_learning_items(config, name, kind.value, counts[name] + max(growth, 0.0), obs_bytes))
    return tuple(items)


def _log_item(config: SimulationConfig, cap: float) -> MemoryItem:
    """The log's buffers: the rows of one flush, times the flushes that may be in memory at once."""
    storage = config.storage
    steps = min(float(storage.flush_interval), math.ceil(storage.batch_size / max(cap, 1.0)))
    rows = cap * steps  # agent rows of one flush
    # Buffering, queued for the background writer, and the one being written.
    flushes = storage.queue_size + 2 if storage.asynchronous else 1
    return MemoryItem(
        f"log buffers ({_fmt(rows)} agent rows a flush x {flushes} flush{'es' if flushes > 1 else ''})",
        "storage.batch_size, storage.flush_interval, storage.queue_size",
        rows * flushes * _LOG_ROW_BYTES + _LOG_PARAMETER_BYTES,
    )


def _node_count(config: SimulationConfig) -> float:
    from farm.resources.config import DENSITY_NODES_PER_AREA

    return DENSITY_NODES_PER_AREA[config.resources.density] * config.world.width * config.world.height


def _learning_items(config: SimulationConfig, type_name: str, kind: str, agents: float,
                    obs_bytes: float) -> list[MemoryItem]:
    """Replay or rollout storage and network parameters of one agent type's policy."""
    from farm.decision.config import NetworkKind, SharingMode

    decision = config.decision
    per_agent = decision.sharing is SharingMode.PER_AGENT
    networks = agents if per_agent else 1.0
    channels = len(config.observation.channels)
    size = 2.0 * config.observation.radius + 1.0
    net = decision.network
    inputs = channels * size * size if net.kind is NetworkKind.MLP else net.cnn_channels[-1] * size * size
    widths = (inputs, *map(float, net.hidden_sizes), float(_NUM_ACTIONS + 1))
    parameters = sum(a * b + b for a, b in itertools.pairwise(widths))  # weights and biases
    # Floats one observation's forward keeps for the backward pass: the layers' outputs.
    activations = float(sum(widths))
    network_fields = "decision.network.hidden_sizes, observation.radius, decision.sharing"
    if net.kind is NetworkKind.CNN:  # 3x3 kernels, then the dense head over the last feature maps
        conv = (float(channels), *map(float, net.cnn_channels))
        parameters += sum(9.0 * a * b + b for a, b in itertools.pairwise(conv))
        activations += sum(map(float, net.cnn_channels)) * size * size
        network_fields = "decision.network.cnn_channels, " + network_fields
    items = [MemoryItem(
        f"{type_name} {kind} network parameters ({_fmt(networks)} x {_fmt(parameters)} weights)",
        network_fields,
        networks * parameters * 4.0 * _PARAMETER_COPIES,
    )]
    if kind == "ddqn":
        # ReplayBuffer stores each observation once (a FrameStore of frames the transitions
        # point to) and grows it to at most max(capacity + 4k, 9/8 (capacity + 2k)) frames, k the
        # agents one network records per step; per transition it keeps two frame ids, the
        # action, reward, done flag and next action mask.
        capacity = float(decision.ddqn.per_agent_buffer_size if per_agent else decision.ddqn.buffer_size)
        field = "decision.ddqn.per_agent_buffer_size" if per_agent else "decision.ddqn.buffer_size"
        k = 1.0 if per_agent else agents
        frames = max(capacity + 4.0 * k, 1.125 * (capacity + 2.0 * k))
        row = 8.0 + 8.0 + 8.0 + 4.0 + 1.0 + _NUM_ACTIONS
        items.append(MemoryItem(
            f"{type_name} ddqn replay buffer ({_fmt(networks)} x ({_fmt(frames)} frames x {format_bytes(obs_bytes)}"
            f" + {_fmt(capacity)} transitions x {format_bytes(row)}))",
            field, networks * (frames * obs_bytes + capacity * row),
        ))
        # A training step samples observations and next observations (two arrays) and runs the
        # online network with gradients and both networks on the next observations.
        batch = float(decision.ddqn.batch_size)
        items.append(MemoryItem(
            f"{type_name} ddqn training batch ({_fmt(batch)} x (2 observations + 3 x {_fmt(activations)}"
            " activations))",
            "decision.ddqn.batch_size", batch * (2.0 * obs_bytes + 3.0 * activations * 4.0),
        ))
    else:
        transition = obs_bytes + _NUM_ACTIONS + 40.0
        steps = float(decision.ppo.rollout_steps)
        # The rollout is stored step by step and concatenated for the update: two copies.
        items.append(MemoryItem(
            f"{type_name} ppo rollout ({_fmt(steps)} steps x {_fmt(agents)} agents x {format_bytes(transition)})",
            "decision.ppo.rollout_steps", 2.0 * steps * agents * transition,
        ))
    return items


def available_memory() -> int:
    """Bytes the OS can give this process without swapping (``psutil``'s ``available``)."""
    import psutil

    return int(psutil.virtual_memory().available)


def check_memory(config: SimulationConfig, available: int | None = None) -> float:
    """Raise ``MemoryError`` in one line when the estimate exceeds the memory available.

    Args:
        config: the run's configuration.
        available: bytes available (default: :func:`available_memory`).

    Returns:
        The total estimate in bytes (a float).

    Raises:
        MemoryError: naming the largest part, its fields, the total and what is available.
    """
    items = estimate_memory(config)
    total = math.fsum(item.nbytes for item in items) if all(math.isfinite(i.nbytes) for i in items) else math.inf
    available = available_memory() if available is None else available
    if total > available:
        worst = max(items, key=lambda item: item.nbytes)
        raise MemoryError(
            f"not enough memory: {worst.what} need ~{format_bytes(worst.nbytes)} "
            f"(change {worst.fields}); the run needs ~{format_bytes(total)} in all, "
            f"{format_bytes(available)} is available"
        )
    return total


def _probe_directory(field_name: str, path: str, directory: str) -> None:
    """Create and remove a temporary file in ``directory``; ``ValueError`` if that fails."""
    try:
        fd, probe = tempfile.mkstemp(prefix=".agentfarm-probe-", dir=directory)
    except OSError as exc:
        raise ValueError(
            f"{field_name} {path!r}: cannot create files in {directory!r} ({exc.strerror or exc})"
        ) from None
    os.close(fd)
    os.unlink(probe)


def check_output_file(field_name: str, path: str, create_parents: bool = False) -> None:
    """Raise ``ValueError`` naming ``field_name`` unless the run can write the file ``path``.

    Args:
        field_name: the config field or flag that holds ``path`` (for the message).
        path: the file the run will create or overwrite.
        create_parents: the caller creates missing parent directories (``--profile-out``); then
            the nearest existing ancestor must be a directory that accepts new entries.
    """
    absolute = os.path.abspath(path)
    if os.path.isdir(absolute):
        raise ValueError(f"{field_name} {path!r} is a directory, not a file")
    directory = os.path.dirname(absolute)
    if not os.path.isdir(directory):
        if not create_parents:
            what = "does not exist" if not os.path.exists(directory) else "is not a directory"
            raise ValueError(f"{field_name} {path!r}: directory {directory!r} {what}")
        ancestor = directory
        while not os.path.exists(ancestor):
            ancestor = os.path.dirname(ancestor)
        if not os.path.isdir(ancestor):
            raise ValueError(f"{field_name} {path!r}: {ancestor!r} is not a directory")
        directory = ancestor
    if os.path.exists(absolute):
        if not os.path.isfile(absolute):
            raise ValueError(f"{field_name} {path!r} is not a regular file")
        try:
            os.close(os.open(absolute, os.O_WRONLY | os.O_APPEND))  # opens for writing, changes nothing
        except OSError as exc:
            raise ValueError(f"{field_name} {path!r} is not writable ({exc.strerror or exc})") from None
    _probe_directory(field_name, path, directory)


def check_output_directory(field_name: str, path: str) -> None:
    """Raise ``ValueError`` naming ``field_name`` unless ``path`` is an existing, writable directory."""
    absolute = os.path.abspath(path)
    if not os.path.exists(absolute):
        raise ValueError(f"{field_name} {path!r} does not exist")
    if not os.path.isdir(absolute):
        raise ValueError(f"{field_name} {path!r} is not a directory")
    _probe_directory(field_name, path, absolute)


def check_checkpoint_dir(config: SimulationConfig) -> None:
    """``ValueError`` in one line unless ``decision.checkpoint_dir`` can take the checkpoints.

    Checked only when a learning policy saves them automatically.
    """
    decision = config.decision
    learns = any(decision.policy_for(name).learns for name in ("system", "independent", "control"))
    if learns and decision.checkpoint_every > 0 and decision.checkpoint_dir is not None:
        check_output_directory("decision.checkpoint_dir", decision.checkpoint_dir)


def check_paths(config: SimulationConfig, outputs: Iterable[tuple[str, str]] = ()) -> None:
    """Check every file the run will write before it starts: ``ValueError`` in one line if not.

    Checked: the database file (``storage.db_path``, or ``storage.persist_path`` for an
    in-memory database), ``decision.checkpoint_dir`` when a learning policy saves checkpoints,
    and each ``(name, path)`` of ``outputs`` (e.g. ``("--profile-out", "x.prof")``, whose missing
    parent directories the caller creates). Nothing is left behind.
    """
    storage = config.storage
    if storage.db_path is not None and storage.file_path is not None:
        field_name = "storage.persist_path" if storage.db_path == ":memory:" else "storage.db_path"
        check_output_file(field_name, storage.file_path)
    check_checkpoint_dir(config)
    for name, path in outputs:
        check_output_file(name, path, create_parents=True)


def check(config: SimulationConfig, outputs: Iterable[tuple[str, str]] = (), available: int | None = None) -> float:
    """:func:`check_memory` then :func:`check_paths`; returns the memory estimate in bytes."""
    total = check_memory(config, available)
    check_paths(config, outputs)
    return total
