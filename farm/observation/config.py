"""Configuration of each agent's local multi-channel view."""

from __future__ import annotations

from dataclasses import dataclass

from farm.utils.validation import require_int_at_least

__all__ = ["ObservationConfig"]


@dataclass(frozen=True)
class ObservationConfig:
    """Attributes:
    radius: R; each view is ``(C, 2R+1, 2R+1)`` cells of one world unit, centred on the agent.
    """

    radius: int = 5

    def __post_init__(self) -> None:
        require_int_at_least("observation", "radius", self.radius, 1)

    @property
    def size(self) -> int:
        return 2 * self.radius + 1
