"""Agent-centred multi-channel observations.

Each agent sees a ``(C, 2R+1, 2R+1)`` float32 view of the cells around it (see
:mod:`farm.observation.grid` for the world-to-cell mapping). Channels come from a registry
(:mod:`farm.observation.registry`); the builder (:mod:`farm.observation.builder`) crops every
agent's windows from padded world layers in one vectorized gather, and keeps a plain per-agent
reference path as the test oracle.
"""

from farm.observation.builder import ObservationBuilder, make_observation_builder
from farm.observation.channel import Channel, ChannelLifetime, ObservationContext
from farm.observation.config import (
    ALL_CHANNELS,
    DEFAULT_CHANNELS,
    ObservationConfig,
    ResourceInterpolation,
    ResourceSource,
)
from farm.observation.grid import WorldGrid
from farm.observation.registry import register_channel, registered_channel_names, unregister_channel

__all__ = [
    "ObservationBuilder",
    "make_observation_builder",
    "Channel",
    "ChannelLifetime",
    "ObservationContext",
    "ObservationConfig",
    "ResourceInterpolation",
    "ResourceSource",
    "ALL_CHANNELS",
    "DEFAULT_CHANNELS",
    "WorldGrid",
    "register_channel",
    "registered_channel_names",
    "unregister_channel",
]
