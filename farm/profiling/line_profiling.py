"""line_profiler on chosen functions, attached with ``LineProfiler.add_function`` (no decorators, no source edits)."""

from __future__ import annotations

import io
import linecache
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from farm.profiling.availability import import_tool
from farm.profiling.targets import ProfileTarget

__all__ = ["LineTiming", "FunctionLineProfile", "LineProfileResult", "line_profile"]


@dataclass(frozen=True)
class LineTiming:
    """Attributes: lineno, hits (times executed), seconds (total time on the line), source."""

    lineno: int
    hits: int
    seconds: float
    source: str


@dataclass(frozen=True)
class FunctionLineProfile:
    """The executed lines of one profiled function.

    Attributes:
        label: the target's label.
        filename, first_lineno: where the function is defined.
        lines: the executed lines, in line order.
    """

    label: str
    filename: str
    first_lineno: int
    lines: tuple[LineTiming, ...]

    @property
    def total_seconds(self) -> float:
        """Time summed over the function's executed lines."""
        return float(sum(line.seconds for line in self.lines))

    def hottest(self, count: int = 5) -> tuple[LineTiming, ...]:
        """The ``count`` lines with the most time, ties by line number."""
        return tuple(sorted(self.lines, key=lambda line: (-line.seconds, line.lineno))[:count])


@dataclass(frozen=True)
class LineProfileResult:
    """What the line_profiler run measured.

    Attributes:
        functions: one profile per target that ran (targets never called are left out).
        text: line_profiler's own report.
        value: what the profiled callable returned.
    """

    functions: tuple[FunctionLineProfile, ...]
    text: str
    value: Any = None


def line_profile(run: Callable[[], Any], targets: Sequence[ProfileTarget]) -> LineProfileResult:
    """Run ``run()`` with line timing on every target function."""
    line_profiler = import_tool("line_profiler")
    profiler = line_profiler.LineProfiler()
    code_to_label = {}
    for target in targets:
        profiler.add_function(target.function)
        code = target.function.__code__
        code_to_label[(code.co_filename, code.co_firstlineno)] = target.label
    profiler.enable_by_count()
    try:
        value = run()
    finally:
        profiler.disable_by_count()
    stats = profiler.get_stats()
    functions = []
    for (filename, first_lineno, _name), entries in sorted(stats.timings.items()):
        if not entries:
            continue
        label = code_to_label.get((filename, first_lineno), _name)
        lines = tuple(
            LineTiming(int(lineno), int(hits), float(time) * stats.unit, linecache.getline(filename, lineno).rstrip())
            for lineno, hits, time in sorted(entries)
        )
        functions.append(FunctionLineProfile(label, filename, int(first_lineno), lines))
    text = io.StringIO()
    profiler.print_stats(stream=text, stripzeros=True)
    order = {target.label: i for i, target in enumerate(targets)}
    functions.sort(key=lambda f: order.get(f.label, len(order)))
    return LineProfileResult(tuple(functions), text.getvalue(), value)
