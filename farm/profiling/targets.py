"""The plan's target functions, resolved on a live simulation without touching their source.

Line-level profilers (line_profiler, memory_profiler) need the plain function objects. These are
looked up on the classes of the simulation's components, so whichever index, builder, policy or
resource backend the config picked is the one profiled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["ProfileTarget", "simulation_targets", "plain_function"]


@dataclass(frozen=True)
class ProfileTarget:
    """A function to profile and the label reports show for it.

    Attributes:
        label: ``Class.method`` as shown in reports.
        function: the plain function (not a bound method).
    """

    label: str
    function: Callable[..., Any]


def plain_function(obj: Any) -> Callable[..., Any] | None:
    """The underlying Python function of a callable, or None.

    Accepts a function, bound method or staticmethod; None for
    builtins (which have no lines to profile).
    """
    func = getattr(obj, "__func__", obj)
    return func if hasattr(func, "__code__") else None


def _method_target(owner: Any, name: str) -> ProfileTarget | None:
    cls = owner if isinstance(owner, type) else type(owner)
    func = plain_function(getattr(cls, name, None))
    if func is None:
        return None
    return ProfileTarget(f"{cls.__name__}.{name}", func)


def simulation_targets(sim: Any) -> tuple[ProfileTarget, ...]:
    """Profile targets of a simulation, in loop order, deduplicated.

    Observation (stage and builder), the act and learn stages, spatial update (stage and index),
    each policy's decision and transition recording, the log stage and resource regeneration.
    """
    candidates = [
        _method_target(sim, "observe"),
        _method_target(sim.observation_builder, "build"),
        _method_target(sim, "act"),
        _method_target(sim, "learn"),  # record + training (a stage of its own since the rules split)
        _method_target(sim, "update_spatial_index"),
        _method_target(sim.agent_index, "update"),
        _method_target(sim.resource_index, "update"),
    ]
    candidates += [_method_target(policy, "act") for policy in sim.policies.values()]
    candidates += [_method_target(policy, "record") for policy in sim.policies.values()]
    candidates.append(_method_target(sim, "log_step"))
    candidates.append(_method_target(sim.resources, "regenerate"))
    seen: set[int] = set()
    targets = []
    for target in candidates:
        if target is not None and id(target.function) not in seen:
            seen.add(id(target.function))
            targets.append(target)
    return tuple(targets)
