"""Which policy decides for each agent type, and its settings."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from farm.utils.validation import coerce_enum

__all__ = ["PolicyKind", "DecisionConfig"]


class PolicyKind(Enum):
    RANDOM = "random"
    RULE = "rule"


@dataclass(frozen=True)
class DecisionConfig:
    """Attributes:
    system, independent, control: the policy for each agent type.
    """

    system: PolicyKind = PolicyKind.RANDOM
    independent: PolicyKind = PolicyKind.RANDOM
    control: PolicyKind = PolicyKind.RANDOM

    def __post_init__(self) -> None:
        for name in ("system", "independent", "control"):
            object.__setattr__(self, name, coerce_enum("decision", name, PolicyKind, getattr(self, name)))

    def policy_for(self, type_name: str) -> PolicyKind:
        return getattr(self, type_name)
