"""yappi: per-thread profiles, for the asynchronous log writer and any other thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from farm.profiling.availability import import_tool

__all__ = ["ClockType", "ThreadFunction", "ThreadProfile", "ThreadProfileResult", "profile_threads"]


class ClockType(Enum):
    """CPU: time a thread actually ran (shows work). WALL: elapsed time (includes waiting)."""

    CPU = "cpu"
    WALL = "wall"


@dataclass(frozen=True)
class ThreadFunction:
    """Attributes: function (``module:line name``), calls, total_seconds (with callees), self_seconds (own body)."""

    function: str
    calls: int
    total_seconds: float
    self_seconds: float


@dataclass(frozen=True)
class ThreadProfile:
    """One thread's time and its top functions.

    Attributes:
        name: the thread's name (``MainThread`` for the main one).
        thread_id: yappi's context id.
        seconds: the thread's total time in the chosen clock.
        functions: its top functions by self time.
    """

    name: str
    thread_id: int
    seconds: float
    functions: tuple[ThreadFunction, ...]


@dataclass(frozen=True)
class ThreadProfileResult:
    """What the yappi run measured, per thread.

    Attributes:
        clock: the clock yappi used.
        threads: every thread that ran Python code during the run, busiest first.
        value: what the profiled callable returned.
    """

    clock: ClockType
    threads: tuple[ThreadProfile, ...]
    value: Any = None

    @property
    def only_main_thread(self) -> bool:
        """True when no thread other than the main one ran profiled code."""
        return all(t.name == threading.main_thread().name for t in self.threads)


def profile_threads(run: Callable[[], Any], clock: ClockType = ClockType.CPU, top: int = 10) -> ThreadProfileResult:
    """Run ``run()`` under yappi (threads started during the run are profiled too)."""
    yappi = import_tool("yappi")
    if yappi.is_running():
        raise RuntimeError("yappi is already running")
    yappi.clear_stats()
    yappi.set_clock_type(clock.value)
    yappi.set_context_name_callback(lambda: threading.current_thread().name)
    yappi.start(builtins=False, profile_threads=True)
    try:
        value = run()
    finally:
        yappi.stop()
    threads = []
    try:
        for thread in yappi.get_thread_stats():
            stats = yappi.get_func_stats(ctx_id=thread.id)
            functions = sorted(
                (
                    ThreadFunction(
                        f"{stat.module}:{stat.lineno} {stat.name}", int(stat.ncall), float(stat.ttot), float(stat.tsub)
                    )
                    for stat in stats
                ),
                key=lambda f: (-f.self_seconds, f.function),
            )[:top]
            if functions:
                threads.append(ThreadProfile(str(thread.name), int(thread.id), float(thread.ttot), tuple(functions)))
    finally:
        yappi.clear_stats()
        yappi.set_context_name_callback(None)
    threads.sort(key=lambda t: (-t.seconds, t.thread_id))
    return ThreadProfileResult(clock, tuple(threads), value)
