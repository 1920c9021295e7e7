"""The status a run carries in the ``simulations`` table."""

from __future__ import annotations

from enum import Enum

__all__ = ["RunStatus"]


class RunStatus(Enum):
    """RUNNING until the logger closes; a killed process leaves RUNNING behind."""

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
