"""Profiling toolkit for the simulation, and the suite that writes its report.

Profiling toolkit: cProfile, py-spy, line_profiler, tracemalloc, memory_profiler, yappi and
psutil monitoring around the simulation, and the suite that writes them up as a report.

Run ``run_profiling_suite --quick`` (or ``python -m farm.profiling --quick``).
"""

from farm.profiling.availability import ToolStatus, ToolUnavailable
from farm.profiling.complexity import PowerLawFit, fit_power_law
from farm.profiling.cprofile_runner import CProfileResult, Hotspot, HotspotOrder, format_hotspot_table, profile_call
from farm.profiling.line_profiling import LineProfileResult, line_profile
from farm.profiling.memory_profiling import (
    AllocationResult,
    MemoryLineProfileResult,
    memory_line_profile,
    trace_allocations,
)
from farm.profiling.pyspy_runner import FlameGraph, TopSnapshot, py_spy_record, py_spy_top
from farm.profiling.targets import ProfileTarget, simulation_targets
from farm.profiling.thread_profiling import ClockType, ThreadProfileResult, profile_threads

__all__ = [
    "ToolStatus", "ToolUnavailable", "PowerLawFit", "fit_power_law", "CProfileResult", "Hotspot", "HotspotOrder",
    "format_hotspot_table", "profile_call", "LineProfileResult", "line_profile", "AllocationResult",
    "MemoryLineProfileResult", "memory_line_profile", "trace_allocations", "FlameGraph", "TopSnapshot",
    "py_spy_record", "py_spy_top", "ProfileTarget", "simulation_targets", "ClockType", "ThreadProfileResult",
    "profile_threads",
]
