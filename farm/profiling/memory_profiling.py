"""Memory: tracemalloc allocation sites over a run, and memory_profiler line by line."""

from __future__ import annotations

import io
import linecache
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from farm.profiling.availability import import_tool
from farm.profiling.targets import ProfileTarget

__all__ = [
    "AllocationSite",
    "AllocationResult",
    "trace_allocations",
    "MemoryLine",
    "FunctionMemoryProfile",
    "MemoryLineProfileResult",
    "memory_line_profile",
]

_PROJECT_DIR = str(Path(__file__).resolve().parents[1])  # the farm package
_TOOLKIT_DIR = str(Path(__file__).resolve().parent)  # never charge allocations to the profiler itself
_IGNORED_FILES = (tracemalloc.__file__, linecache.__file__, "<frozen importlib._bootstrap>",
                  "<frozen importlib._bootstrap_external>", "<unknown>")


@dataclass(frozen=True)
class AllocationSite:
    """One allocating source line and the memory it still holds.

    Attributes:
        location: ``path:line`` of the allocating line.
        size_bytes: bytes allocated there and still alive at the end of the run, net of the start.
        count: number of those blocks.
        source: the line's text.
    """

    location: str
    size_bytes: int
    count: int
    source: str


@dataclass(frozen=True)
class AllocationResult:
    """What :func:`trace_allocations` measured.

    Attributes:
        sites: the top sites by ``size_bytes``, largest first.
        peak_bytes: highest traced memory during the run, above what was traced at its start.
        net_bytes: traced memory at the end minus at the start.
        value: what the traced callable returned.
    """

    sites: tuple[AllocationSite, ...]
    peak_bytes: int
    net_bytes: int
    value: Any = None


def _site_totals(snapshot: tracemalloc.Snapshot, focus: tuple[str, ...]) -> dict[tuple[str, int], list[int]]:
    """Bytes and blocks per allocation site of a tracemalloc snapshot.

    A site is the innermost frame inside ``focus``
    (so numpy's own ``empty`` is charged to the project line that called it), else the innermost.
    """
    totals: dict[tuple[str, int], list[int]] = {}
    for stat in snapshot.statistics("traceback"):
        frames = list(stat.traceback)  # most recent call last
        chosen = frames[-1]
        for frame in reversed(frames):
            if frame.filename.startswith(focus) and not frame.filename.startswith(_TOOLKIT_DIR):
                chosen = frame
                break
        entry = totals.setdefault((chosen.filename, chosen.lineno), [0, 0])
        entry[0] += stat.size
        entry[1] += stat.count
    return totals


def trace_allocations(
    run: Callable[[], Any], top: int = 10, focus: Sequence[str] = (_PROJECT_DIR,), frames: int = 16
) -> AllocationResult:
    """Run ``run()`` under tracemalloc and report which lines hold the memory it allocated.

    Args:
        run: the callable to trace; called once, with no arguments.
        top: number of allocation sites to keep, largest first.
        focus: path prefixes of "our" code; allocations are charged to the innermost frame there.
        frames: traceback depth tracemalloc records (deeper finds the project frame more often,
            at more overhead).
    """
    if tracemalloc.is_tracing():
        raise RuntimeError("tracemalloc is already tracing")
    tracemalloc.start(frames)
    try:
        filters = [tracemalloc.Filter(False, name) for name in _IGNORED_FILES]
        before = tracemalloc.take_snapshot().filter_traces(filters)
        start_current, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        value = run()
        end_current, peak = tracemalloc.get_traced_memory()
        after = tracemalloc.take_snapshot().filter_traces(filters)
    finally:
        tracemalloc.stop()
    focus_prefixes = tuple(focus)
    totals_before = _site_totals(before, focus_prefixes)
    sites = []
    for (filename, lineno), (size, count) in _site_totals(after, focus_prefixes).items():
        size_before, count_before = totals_before.get((filename, lineno), (0, 0))
        if size - size_before <= 0:
            continue
        sites.append(
            AllocationSite(
                f"{filename}:{lineno}",
                size - size_before,
                count - count_before,
                linecache.getline(filename, lineno).strip(),
            )
        )
    sites.sort(key=lambda s: (-s.size_bytes, s.location))
    return AllocationResult(tuple(sites[:top]), int(peak - start_current), int(end_current - start_current), value)


@dataclass(frozen=True)
class MemoryLine:
    """One line of memory_profiler's per-line report.

    Attributes:
        lineno: the line.
        increment_mib: RSS growth attributed to the line, summed over its executions.
        usage_mib: process RSS after the line last ran.
        occurrences: times it ran.
        source: the line's text.
    """

    lineno: int
    increment_mib: float
    usage_mib: float
    occurrences: int
    source: str


@dataclass(frozen=True)
class FunctionMemoryProfile:
    """The memory_profiler lines of one profiled function.

    Attributes:
        label: the target's label.
        filename: where the function is defined.
        lines: its traced lines, in line order.
    """

    label: str
    filename: str
    lines: tuple[MemoryLine, ...]


@dataclass(frozen=True)
class MemoryLineProfileResult:
    """What :func:`memory_line_profile` measured.

    Attributes:
        functions: one profile per target that ran.
        text: memory_profiler's own report.
        value: what the profiled callable returned.
    """

    functions: tuple[FunctionMemoryProfile, ...]
    text: str
    value: Any = None


def memory_line_profile(run: Callable[[], Any], targets: Sequence[ProfileTarget]) -> MemoryLineProfileResult:
    """Run a callable under memory_profiler's line tracer.

    Run ``run()`` with memory_profiler's line tracer on every target (RSS read with psutil
    after each traced line: slow, keep the run short).
    """
    memory_profiler = import_tool("memory_profiler")
    profiler = memory_profiler.LineProfiler(backend="psutil")
    labels = {}
    for target in targets:
        profiler.add_function(target.function)
        labels[target.function.__code__] = target.label
    profiler.enable_by_count()
    try:
        value = run()
    finally:
        profiler.disable_by_count()
    functions = []
    for code, entries in dict.items(profiler.code_map):
        if not entries or code not in labels:
            continue
        lines = tuple(
            MemoryLine(
                int(lineno), float(inc), float(mem), int(occ), linecache.getline(code.co_filename, lineno).rstrip()
            )
            for lineno, (inc, mem, occ) in sorted(entries.items())
        )
        functions.append(FunctionMemoryProfile(labels[code], code.co_filename, lines))
    order = {target.label: i for i, target in enumerate(targets)}
    functions.sort(key=lambda f: order.get(f.label, len(order)))
    text = io.StringIO()
    memory_profiler.show_results(profiler, stream=text)
    return MemoryLineProfileResult(tuple(functions), text.getvalue(), value)
