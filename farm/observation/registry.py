"""The channel registry: channel name -> :class:`~farm.observation.channel.Channel` subclass.

The builder looks every configured channel up here, so a user adds a channel without touching
the builder::

    class Pheromone(Channel):
        lifetime = ChannelLifetime.PERSISTENT
        ...

    register_channel("PHEROMONE", Pheromone)
    ObservationConfig(channels=("SELF_HP", "PHEROMONE"))

Names are upper-case strings. The 13 built-in channels register themselves on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from farm.observation.channel import Channel, ObservationContext

__all__ = ["register_channel", "unregister_channel", "registered_channel_names", "create_channel"]

_REGISTRY: dict[str, type] = {}
_BUILTINS_LOADED = False


def _load_builtins() -> None:
    global _BUILTINS_LOADED
    if not _BUILTINS_LOADED:
        _BUILTINS_LOADED = True
        import farm.observation.agent_channels  # noqa: F401  (registers on import)
        import farm.observation.memory_channels  # noqa: F401
        import farm.observation.resource_channel  # noqa: F401
        import farm.observation.world_channels  # noqa: F401


def register_channel(name: str, channel_class: type, *, replace: bool = False) -> None:
    """Make ``channel_class`` available as channel ``name`` (upper-cased).

    Raises:
        ValueError: ``name`` is taken (and ``replace`` is False) or not a non-empty string.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"channel name must be a non-empty string, got {name!r}")
    key = name.upper()
    if key in _REGISTRY and not replace and _REGISTRY[key] is not channel_class:
        raise ValueError(f"channel {key!r} is already registered (pass replace=True to override)")
    _REGISTRY[key] = channel_class


def unregister_channel(name: str) -> None:
    """Remove a user channel; raises ValueError for an unknown name."""
    _load_builtins()
    key = name.upper()
    if key not in _REGISTRY:
        raise ValueError(f"unknown channel {name!r}")
    del _REGISTRY[key]


def registered_channel_names() -> tuple[str, ...]:
    """Every registered channel name, in registration order."""
    _load_builtins()
    return tuple(_REGISTRY)


def create_channel(name: str, context: "ObservationContext") -> "Channel":
    """Instantiate channel ``name`` for ``context``; ValueError naming an unknown name."""
    _load_builtins()
    key = name.upper()
    if key not in _REGISTRY:
        raise ValueError(f"unknown channel {name!r}; registered: {', '.join(_REGISTRY)}")
    return _REGISTRY[key](key, context)
