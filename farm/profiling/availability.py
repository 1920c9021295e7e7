"""Which external profilers can run here, and the one-line reason when one cannot."""

from __future__ import annotations

import importlib
import os
import shutil
import sys
from dataclasses import dataclass
from types import ModuleType

__all__ = ["ToolUnavailable", "ToolStatus", "import_tool", "find_py_spy", "PTRACE_DENIED_MESSAGE", "INSTALL_HINT"]

INSTALL_HINT = "pip install '.[profile]'"
PTRACE_DENIED_MESSAGE = (
    "py-spy: ptrace is not permitted here (needs CAP_SYS_PTRACE or kernel.yama.ptrace_scope=0); "
    "flame graph and top skipped"
)


class ToolUnavailable(RuntimeError):
    """A profiler is missing or not permitted; ``str(exc)`` is one line saying which and why."""


@dataclass(frozen=True)
class ToolStatus:
    """Whether one profiler ran, and its version or why not.

    Attributes:
        tool: the profiler's name.
        available: whether it ran.
        detail: its version when it ran, else the one-line reason it was skipped.
    """

    tool: str
    available: bool
    detail: str


def import_tool(module_name: str, tool: str | None = None) -> ModuleType:
    """Import a profiler's module or raise :class:`ToolUnavailable` with an install hint."""
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        raise ToolUnavailable(f"{tool or module_name} is not installed ({INSTALL_HINT}): {exc}") from None


def find_py_spy() -> str:
    """Path of the ``py-spy`` executable (on PATH or beside this interpreter)."""
    found = shutil.which("py-spy")
    if found is None:
        beside = os.path.join(os.path.dirname(sys.executable), "py-spy")
        if os.path.isfile(beside) and os.access(beside, os.X_OK):
            found = beside
    if found is None:
        raise ToolUnavailable(f"py-spy is not installed or not on PATH ({INSTALL_HINT}); flame graph and top skipped")
    return found
