"""The plan's configuration comparisons, each a ratio of run times with its spread over repeats.

Options that this build of the engine lacks (a config field or enum value that does not exist
yet) are detected from the config classes and by ``with_overrides`` raising ``ValueError``; their
rows say "not available in this build" instead of failing the suite.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "NOT_AVAILABLE", "OptionUnavailable", "Comparison", "ComparisonResult", "plan_comparisons", "run_comparison",
    "run_comparisons", "find_switch",
]

NOT_AVAILABLE = "not available in this build"

Overrides = Callable[[Path], dict[str, Any]]  # run directory -> dotted config overrides


class OptionUnavailable(Exception):
    """The engine build has no such option; ``str(exc)`` says which."""


@dataclass(frozen=True)
class Comparison:
    """One row of the table: ``variant`` time over ``baseline`` time.

    ``resolve(config)`` returns the two override builders, or raises :class:`OptionUnavailable`.
    ``step_fraction`` scales the run length for rows whose steps cost far more than a plain step
    (learning policies), so the table stays within the suite's time budget.
    """

    name: str
    baseline_label: str
    variant_label: str
    resolve: Callable[[Any], tuple[Overrides, Overrides]]
    step_fraction: float = 1.0

    def steps(self, steps: int) -> int:
        """Steps this row runs: ``steps`` scaled by ``step_fraction``, rounded, at least 2."""
        return max(2, int(round(steps * self.step_fraction)))


@dataclass(frozen=True)
class ComparisonResult:
    """The paired timings of one comparison row.

    Attributes:
        comparison: the row's definition.
        status: "measured", or why it was not (starts with "not available in this build").
        ratios: ``(repeats,)`` variant seconds / baseline seconds (wall clock), one per paired repeat.
        baseline_seconds, variant_seconds: ``(repeats,)`` wall-clock run times.
        cpu_ratios: ``(repeats,)`` the same ratio of the main thread's CPU time: blind to waiting
            (disk, a background writer) but barely moved by other processes competing for the CPU.
        baseline_cpu_seconds, variant_cpu_seconds: ``(repeats,)`` main-thread CPU times.
    """

    comparison: Comparison
    status: str
    ratios: np.ndarray
    baseline_seconds: np.ndarray
    variant_seconds: np.ndarray
    cpu_ratios: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    baseline_cpu_seconds: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    variant_cpu_seconds: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))

    @property
    def measured(self) -> bool:
        """Whether the row was timed (``status == "measured"``)."""
        return self.status == "measured"

    @property
    def median_ratio(self) -> float:
        """Median wall-clock ratio, variant over baseline (NaN when nothing was measured)."""
        return float(np.median(self.ratios)) if self.ratios.size else float("nan")

    @property
    def median_cpu_ratio(self) -> float:
        """Median main-thread CPU ratio, variant over baseline (NaN when nothing was measured)."""
        return float(np.median(self.cpu_ratios)) if self.cpu_ratios.size else float("nan")


def find_switch(section_config: Any, keyword: str) -> tuple[str, Any, Any]:
    """A config section's switch for ``keyword``: ``(field, on_value, off_value)``.

    A bool field whose name contains ``keyword`` gives (name, True, False); an enum field with a
    member whose name contains it gives (name, that member's value, the default if different,
    else another member's value). Raises :class:`OptionUnavailable` when there is neither.
    """
    key = keyword.lower()
    for f in dataclasses.fields(section_config):
        value = getattr(section_config, f.name)
        if isinstance(value, bool) and key in f.name.lower():
            return f.name, True, False
        if isinstance(value, Enum):
            members = list(type(value))
            on = [m for m in members if key in m.name.lower() or key in str(m.value).lower()]
            if on:
                off = value if value is not on[0] else next((m for m in members if m is not on[0]), None)
                if off is not None:
                    return f.name, on[0].value, off.value
    section = type(section_config).__name__
    raise OptionUnavailable(f"{NOT_AVAILABLE}: {section} has no {keyword!r} switch")


def _checked(config: Any, overrides: dict[str, Any]) -> None:
    try:
        config.with_overrides(overrides)
    except ValueError as exc:
        raise OptionUnavailable(f"{NOT_AVAILABLE}: {exc}") from None


def _fixed(overrides: dict[str, Any]) -> Overrides:
    return lambda _run_dir: dict(overrides)


def _disk_db(extra: dict[str, Any] | None = None) -> Overrides:
    def build(run_dir: Path) -> dict[str, Any]:
        return {"storage.db_path": str(run_dir / "run.db"), **(extra or {})}

    return build


def _disk_vs_memory(config: Any) -> tuple[Overrides, Overrides]:
    _checked(config, {"storage.db_path": ":memory:"})
    return _fixed({"storage.db_path": ":memory:"}), _disk_db()


def _memmap_vs_ram(config: Any) -> tuple[Overrides, Overrides]:
    for value in ("array", "memmap"):
        _checked(config, {"resources.storage": value})
    return _fixed({"resources.storage": "array"}), _fixed({"resources.storage": "memmap"})


def _batched_spatial(config: Any) -> tuple[Overrides, Overrides]:
    name, on, off = find_switch(config.spatial, "batch")
    _checked(config, {f"spatial.{name}": on})
    return _fixed({f"spatial.{name}": off}), _fixed({f"spatial.{name}": on})


def _radius(value: int) -> Callable[[Any], tuple[Overrides, Overrides]]:
    def resolve(config: Any) -> tuple[Overrides, Overrides]:
        _checked(config, {"observation.radius": value})
        return _fixed({"observation.radius": 5}), _fixed({"observation.radius": value})

    return resolve


def _all_policies(kind: str) -> dict[str, Any]:
    return {f"decision.{t}": kind for t in ("system", "independent", "control")}


def _ddqn_vs_ppo(config: Any) -> tuple[Overrides, Overrides]:
    for kind in ("ddqn", "ppo"):
        _checked(config, _all_policies(kind))
    return _fixed(_all_policies("ddqn")), _fixed(_all_policies("ppo"))


def _async_logging(config: Any) -> tuple[Overrides, Overrides]:
    name, on, off = find_switch(config.storage, "async")
    _checked(config, {"storage.db_path": "x.db", f"storage.{name}": on})
    return _disk_db({f"storage.{name}": off}), _disk_db({f"storage.{name}": on})


def plan_comparisons() -> tuple[Comparison, ...]:
    """The plan's table, in its order."""
    return (
        Comparison("database: disk vs in-memory", "in-memory", "disk file", _disk_vs_memory),
        Comparison("resources: memmap vs RAM", "RAM array", "memmap", _memmap_vs_ram),
        Comparison("spatial updates: batched vs immediate", "immediate", "batched", _batched_spatial),
        Comparison("observation radius 10 vs 5", "R = 5", "R = 10", _radius(10)),
        Comparison("observation radius 20 vs 5", "R = 5", "R = 20", _radius(20)),
        Comparison("decision: PPO vs DDQN", "DDQN", "PPO", _ddqn_vs_ppo, step_fraction=0.2),
        Comparison("logging (disk): async vs sync", "sync", "async", _async_logging),
    )


def _timed_run(config: Any, steps: int) -> tuple[float, float]:
    """(wall seconds, main-thread CPU seconds) of ``run(steps)`` + ``close()``."""
    from farm import Simulation

    sim = Simulation(config)
    try:
        start, start_cpu = time.perf_counter(), time.thread_time()
        sim.run(steps)
        sim.close()
        return time.perf_counter() - start, time.thread_time() - start_cpu
    except BaseException:
        sim.close(status="failed")
        raise


def run_comparison(comparison: Comparison, config: Any, steps: int, repeats: int) -> ComparisonResult:
    """Time ``repeats`` paired runs (after one warm-up pair), alternating which side runs first."""
    empty = np.zeros(0)
    try:
        baseline, variant = comparison.resolve(config)
    except OptionUnavailable as exc:
        return ComparisonResult(comparison, str(exc), empty, empty, empty)
    work = Path(tempfile.mkdtemp(prefix="farm-compare-"))
    try:
        counter = iter(range(10**9))

        def once(build: Overrides) -> tuple[float, float]:
            run_dir = work / f"run{next(counter)}"
            run_dir.mkdir()
            return _timed_run(config.with_overrides(build(run_dir)), comparison.steps(steps))

        once(baseline), once(variant)
        base_times, variant_times = [], []
        for repeat in range(repeats):
            if repeat % 2 == 0:
                b = once(baseline)
                v = once(variant)
            else:
                v = once(variant)
                b = once(baseline)
            base_times.append(b)
            variant_times.append(v)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    b_arr, v_arr = np.asarray(base_times), np.asarray(variant_times)  # (repeats, 2): wall, CPU
    return ComparisonResult(
        comparison, "measured", v_arr[:, 0] / b_arr[:, 0], b_arr[:, 0], v_arr[:, 0],
        v_arr[:, 1] / b_arr[:, 1], b_arr[:, 1], v_arr[:, 1],
    )


def run_comparisons(
    comparisons: Sequence[Comparison], config: Any, steps: int, repeats: int
) -> list[ComparisonResult]:
    """:func:`run_comparison` of every row, in order; one result per comparison."""
    return [run_comparison(c, config, steps, repeats) for c in comparisons]
