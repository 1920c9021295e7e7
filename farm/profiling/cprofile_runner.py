"""cProfile: a ``.prof`` file for snakeviz and hotspot tables by cumulative and by self time."""

from __future__ import annotations

import cProfile
import os
import pstats
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

__all__ = ["HotspotOrder", "Hotspot", "CProfileResult", "profile_call", "hotspots", "format_hotspot_table"]


class HotspotOrder(Enum):
    """CUMULATIVE: time inside a function and everything it calls. SELF: time in its own body."""

    CUMULATIVE = "cumulative"
    SELF = "self"


@dataclass(frozen=True)
class Hotspot:
    """One function's row in a cProfile table.

    Attributes:
        function: ``path:line(name)`` with the path shortened to the package part.
        calls: total calls (including recursive ones).
        self_seconds: time spent in the function's own body.
        cumulative_seconds: time spent in the function and its callees.
    """

    function: str
    calls: int
    self_seconds: float
    cumulative_seconds: float


@dataclass(frozen=True)
class CProfileResult:
    """What the cProfile run measured.

    Attributes:
        prof_path: the ``.prof`` file (open with ``snakeviz PATH``), or None when not written.
        total_seconds: total profiled time reported by pstats.
        by_cumulative, by_self: the top hotspots in each order.
        value: what the profiled callable returned.
    """

    prof_path: Path | None
    total_seconds: float
    by_cumulative: tuple[Hotspot, ...]
    by_self: tuple[Hotspot, ...]
    value: Any = None


def _short_path(filename: str) -> str:
    parts = Path(filename).parts
    for anchor in ("farm", "site-packages", "dist-packages"):
        if anchor in parts:
            index = len(parts) - 1 - parts[::-1].index(anchor)
            start = index if anchor == "farm" else index + 1
            return "/".join(parts[start:])
    return os.path.basename(filename) if filename else filename


def _label(key: tuple[str, int, str]) -> str:
    filename, line, name = key
    if filename == "~":  # builtins
        return name
    return f"{_short_path(filename)}:{line}({name})"


# The profiler's own frames: never hotspots of the code under study.
_OWN_FRAMES = ("farm/profiling/", "<method 'disable' of '_lsprof.Profiler' objects>")


def hotspots(stats: pstats.Stats, order: HotspotOrder, limit: int = 20) -> tuple[Hotspot, ...]:
    """The top ``limit`` functions of a cProfile run in ``order``.

    The ``limit`` functions with the most time in ``order``; ties broken by name, so the table
    is stable. Frames of this toolkit (the wrapper that started the run) are left out.
    """
    rows = []
    for key, (_primitive, calls, self_s, cumulative_s, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        label = _label(key)
        if label.startswith(_OWN_FRAMES):
            continue
        rows.append(Hotspot(label, int(calls), float(self_s), float(cumulative_s)))
    if order is HotspotOrder.CUMULATIVE:
        rows.sort(key=lambda h: (-h.cumulative_seconds, h.function))
    else:
        rows.sort(key=lambda h: (-h.self_seconds, h.function))
    return tuple(rows[:limit])


def profile_call(
    run: Callable[[], Any], prof_path: str | Path | None = None, limit: int = 20
) -> CProfileResult:
    """Run ``run()`` under cProfile; write ``prof_path`` (a pstats dump) when given."""
    profiler = cProfile.Profile()
    value = profiler.runcall(run)
    path = None
    if prof_path is not None:
        path = Path(prof_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        profiler.dump_stats(str(path))
    stats = pstats.Stats(profiler)
    return CProfileResult(
        prof_path=path,
        total_seconds=float(stats.total_tt),  # type: ignore[attr-defined]
        by_cumulative=hotspots(stats, HotspotOrder.CUMULATIVE, limit),
        by_self=hotspots(stats, HotspotOrder.SELF, limit),
        value=value,
    )


def format_hotspot_table(rows: tuple[Hotspot, ...], title: str) -> str:
    """A fixed-width text table (for terminals and logs)."""
    lines = [title, f"{'calls':>10} {'self s':>10} {'cumul s':>10}  function"]
    for row in rows:
        lines.append(f"{row.calls:>10d} {row.self_seconds:>10.4f} {row.cumulative_seconds:>10.4f}  {row.function}")
    return "\n".join(lines)
