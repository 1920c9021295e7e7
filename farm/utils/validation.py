"""Checks used by config dataclasses: each raises ``ValueError`` naming the field and value."""

from __future__ import annotations

import math
from enum import Enum
from typing import TypeVar

__all__ = [
    "require_positive", "require_non_negative", "require_probability", "require_int_at_least", "require_finite_pair",
    "coerce_enum",
]

E = TypeVar("E", bound=Enum)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def require_positive(section: str, name: str, value: float) -> None:
    """Raise ``ValueError`` unless ``value`` is a finite number > 0 (bool is not a number)."""
    if not _is_number(value) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{section}.{name} must be a positive number, got {value!r}")


def require_non_negative(section: str, name: str, value: float) -> None:
    """Raise ``ValueError`` unless ``value`` is a finite number >= 0 (bool is not a number)."""
    if not _is_number(value) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{section}.{name} must be a non-negative number, got {value!r}")


def require_probability(section: str, name: str, value: float) -> None:
    """Raise ``ValueError`` unless ``value`` is a number in ``[0, 1]`` (bool is not a number)."""
    if not _is_number(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{section}.{name} must be in [0, 1], got {value!r}")


def require_finite_pair(section: str, name: str, value: object) -> tuple[float, float]:
    """``value`` as ``(x, y)`` floats.

    ``ValueError`` unless it holds exactly two finite numbers: not a string, not booleans, not
    NaN or infinity (a NaN goal made every GOAL window, and so a learner's loss, NaN).
    """
    try:
        items = () if isinstance(value, (str, bytes)) else tuple(value)  # type: ignore[arg-type]
    except TypeError:  # not iterable
        items = ()
    if len(items) != 2 or not all(_is_number(v) and math.isfinite(v) for v in items):
        raise ValueError(f"{section}.{name} must be an (x, y) pair of finite numbers, got {value!r}")
    return (float(items[0]), float(items[1]))


def require_int_at_least(section: str, name: str, value: int, minimum: int) -> None:
    """Raise ``ValueError`` unless ``value`` is an int (not a bool) >= ``minimum``."""
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{section}.{name} must be an integer >= {minimum}, got {value!r}")


def coerce_enum(section: str, name: str, enum_type: type[E], value: object) -> E:
    """Accept an enum member or its value/name (case-insensitive); reject anything else."""
    if isinstance(value, enum_type):
        return value
    if isinstance(value, str):
        for member in enum_type:
            if value.lower() in (str(member.value).lower(), member.name.lower()):
                return member
    choices = ", ".join(str(m.value) for m in enum_type)
    raise ValueError(f"{section}.{name} must be one of {choices}; got {value!r}")
