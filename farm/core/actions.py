"""The action set and its numbering (stable: it is logged and learned)."""

from __future__ import annotations

from enum import IntEnum

__all__ = ["Action", "NUM_ACTIONS"]


class Action(IntEnum):
    """What an agent may do in one step.

    MOVE heads ``move_speed`` toward the nearest non-empty resource node the agent perceives,
    or in a random direction when it perceives none. GATHER takes from the nearest non-empty
    node within ``gather_range``. SHARE gives to the nearest ally within ``share_range``.
    ATTACK hits the nearest non-ally within ``attack_range``. DEFEND reduces damage taken this
    step. REPRODUCE spends resources on a child placed nearby. PASS does nothing.
    """

    MOVE = 0
    GATHER = 1
    SHARE = 2
    ATTACK = 3
    DEFEND = 4
    REPRODUCE = 5
    PASS = 6


NUM_ACTIONS = len(Action)
