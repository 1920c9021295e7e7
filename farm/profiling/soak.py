"""A soak run: the AgentFarm preset at realistic size for thousands of steps.

Learning is on and the log on disk, in a world that sustains its population.

Why a variant of the preset: with the default resources (100x100, 300 nodes regenerating +1 with
probability 0.1, i.e. about 30 units per step) 1000 agents consuming 0.3 each (300 per step)
starve to about 80 within 200 steps, so a "1000-agent" run is mostly a small one.
:data:`SUSTAINING_RESOURCES` gives dense nodes (0.1 per square unit: 1000 nodes in 100x100, a
node within gather range of most agents) that regenerate deterministically by 1 per step (1000
units per step, over three times what 1000 agents consume), and the population cap is set to the
initial count, so births refill deaths and the population stays near its cap.

:func:`run_soak` records per-step wall time and per-step RSS, and reduces them to the figures of
:class:`SoakResult`: p50/p99 step latency, peak and average RSS, database size on disk and the RSS
growth per 1000 steps after the replay buffers are full (the leak check). :func:`soak_section`
writes the report section with a plot of RSS and step time over the run.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from farm.utils.profiling_utils import ResourceUsage, monitor_resources

__all__ = [
    "SUSTAINING_RESOURCES",
    "SoakResult",
    "replay_buffers_full",
    "rss_growth_per_1000_steps",
    "run_soak",
    "soak_config",
    "soak_section",
]

logger = logging.getLogger(__name__)

# Resources that hold 1000+ agents near their cap in the preset's 100x100 world (module docstring).
SUSTAINING_RESOURCES: Mapping[str, Any] = {
    "resources.density": "dense",
    "resources.regeneration": "deterministic",
    "resources.regen_rate": 1.0,
    "resources.regen_amount": 1.0,
}

MIB = 1024.0**2


def soak_config(agents: int, db_path: str, seed: int = 42, overrides: Mapping[str, Any] | None = None):
    """The soak run's simulation config.

    The AgentFarm preset with ``agents`` agents (split over the three types), the population
    cap at ``agents``, :data:`SUSTAINING_RESOURCES`, the log written to ``db_path``, then
    ``overrides`` (dotted keys). Raises NotImplementedError on builds without the preset API.
    """
    from farm.config import SimulationConfig

    if not hasattr(SimulationConfig, "preset"):
        raise NotImplementedError("SimulationConfig.preset is not available in this build")
    base, extra = divmod(int(agents), 3)
    counts = [base + (1 if i < extra else 0) for i in range(3)]
    changes: dict[str, Any] = {
        "seed": int(seed),
        "agents.system": counts[0],
        "agents.independent": counts[1],
        "agents.control": counts[2],
        "agents.max_population": int(agents),
        "storage.db_path": str(db_path),
        **SUSTAINING_RESOURCES,
    }
    changes.update(overrides or {})
    return SimulationConfig.preset("agentfarm").with_overrides(changes)


def replay_buffers_full(sim) -> bool | None:
    """Whether every replay buffer of ``sim``'s policies is full.

    True when every replay buffer of ``sim``'s policies holds ``capacity`` transitions; None
    when the policies keep no replay buffer (random, PPO).
    """
    buffers = []
    for policy in getattr(sim, "policies", {}).values():
        owners = [policy, *getattr(policy, "learners", {}).values()]
        buffers += [b for b in (getattr(o, "buffer", None) for o in owners) if hasattr(b, "capacity")]
    if not buffers:
        return None
    return all(len(b) >= b.capacity for b in buffers)


def rss_growth_per_1000_steps(steps: np.ndarray, rss: np.ndarray) -> tuple[float, float]:
    """Least-squares slope of ``(k,)`` RSS bytes against ``(k,)`` step numbers.

    Returns:
        ``(bytes per 1000 steps, percent of the fitted RSS at the first step per 1000 steps)``;
        ``(nan, nan)`` with fewer than two distinct steps.
    """
    if np.unique(steps).size < 2:
        return float("nan"), float("nan")
    x = steps.astype(np.float64)
    slope, intercept = np.polyfit(x, rss.astype(np.float64), 1)
    start = slope * x[0] + intercept
    per_1000 = 1000.0 * float(slope)
    return per_1000, 100.0 * per_1000 / float(start) if start > 0 else float("nan")


@dataclass(frozen=True)
class SoakResult:
    """What one soak measured.

    Attributes:
        agents, steps, seed: the run's size and seed.
        step_seconds: ``(steps,) float64`` wall time of each ``sim.step()``.
        step_rss: ``(steps,) int64`` RSS after each step, bytes.
        population: ``(steps,) int64`` live agents after each step.
        buffers_full_step: first step after which every replay buffer was full (None: never,
            or no replay buffer).
        leak_window_start: first step of the window the RSS growth is fitted over (the later
            of ``buffers_full_step`` and a tenth of the run).
        usage: :func:`monitor_resources` over construction, steps and close.
        db_bytes: size of the database on disk after close (main file, WAL and shared memory).
        population_cap: the configured cap.
    """

    agents: int
    steps: int
    seed: int
    step_seconds: np.ndarray
    step_rss: np.ndarray
    population: np.ndarray
    buffers_full_step: int | None
    leak_window_start: int
    usage: ResourceUsage
    db_bytes: int
    population_cap: int

    def latency_ms(self, q: float) -> float:
        """Step latency at percentile ``q`` (0-100), milliseconds."""
        return 1e3 * float(np.percentile(self.step_seconds, q)) if self.step_seconds.size else float("nan")

    @property
    def rss_growth(self) -> tuple[float, float]:
        """``(bytes, percent)`` RSS growth per 1000 steps over the leak window."""
        w = self.leak_window_start
        return rss_growth_per_1000_steps(np.arange(w, self.steps), self.step_rss[w:])

    @property
    def min_population_share(self) -> float:
        """Lowest population after a step, as a share of the cap (0-1)."""
        return float(self.population.min()) / self.population_cap if self.population.size else float("nan")


def _db_bytes(db_path: Path) -> int:
    return sum(p.stat().st_size for p in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")) if p.exists())


def run_soak(agents: int = 1_000, steps: int = 10_000, seed: int = 42, work_dir: str | Path | None = None,
             overrides: Mapping[str, Any] | None = None) -> SoakResult:
    """Run :func:`soak_config` for ``steps`` steps, timing and reading RSS after every step.

    Args:
        agents: initial agents, also the population cap.
        steps: steps to run.
        seed: the simulation seed.
        work_dir: where the database is written (None: a temporary directory removed afterwards).
        overrides: extra dotted config overrides (tests use them to shrink the run).

    Returns:
        The :class:`SoakResult`.
    """
    from farm import Simulation

    scratch = work_dir is None
    directory = Path(tempfile.mkdtemp(prefix="farm-soak-")) if scratch else Path(work_dir)
    directory.mkdir(parents=True, exist_ok=True)
    db_path = directory / "soak.db"
    config = soak_config(agents, str(db_path), seed, overrides)
    process = psutil.Process()
    step_seconds = np.zeros(steps, dtype=np.float64)
    step_rss = np.zeros(steps, dtype=np.int64)
    population = np.zeros(steps, dtype=np.int64)
    buffers_full_step: int | None = None
    clock = time.perf_counter
    try:
        with monitor_resources("soak", sample_interval_s=0.05) as monitor, Simulation(config) as sim:
            for i in range(steps):
                t0 = clock()
                sim.step()
                step_seconds[i] = clock() - t0
                step_rss[i] = process.memory_info().rss
                population[i] = len(sim.state)
                if buffers_full_step is None and i % 10 == 0 and replay_buffers_full(sim):
                    buffers_full_step = i
                if (i + 1) % 1000 == 0:
                    logger.info("soak: %d/%d steps, population %d, RSS %.1f MiB", i + 1, steps,
                                population[i], step_rss[i] / MIB)
        db_bytes = _db_bytes(db_path)
    finally:
        if scratch:
            shutil.rmtree(directory, ignore_errors=True)
    window = max(buffers_full_step or 0, steps // 10)
    return SoakResult(
        agents=int(agents), steps=int(steps), seed=int(seed), step_seconds=step_seconds, step_rss=step_rss,
        population=population, buffers_full_step=buffers_full_step, leak_window_start=min(window, max(steps - 2, 0)),
        usage=monitor.result, db_bytes=db_bytes, population_cap=config.agents.population_cap,
    )


def soak_section(result: SoakResult):
    """The report section of a soak: a figures table, the leak verdict and the RSS / step-time plot.

    Returns:
        A :class:`farm.profiling.report.Section`.
    """
    from farm.profiling.plots import soak_plot
    from farm.profiling.report import Figure, Section, Table, Text

    usage = result.usage
    growth_bytes, growth_percent = result.rss_growth
    verdict = "passes" if growth_percent <= 1.0 else "FAILS"
    full = "never" if result.buffers_full_step is None else f"after step {result.buffers_full_step}"
    cores = " / ".join(f"{p:.0f} %" for p in usage.per_core_cpu_percent)
    rows = (
        ("agents (initial = population cap)", f"{result.agents} (cap {result.population_cap})"),
        ("steps", str(result.steps)),
        ("wall time", f"{usage.wall_seconds:.1f} s ({result.steps / max(usage.wall_seconds, 1e-9):.1f} steps/s)"),
        ("step latency p50 / p95 / p99 / max",
         " / ".join(f"{result.latency_ms(q):.2f}" for q in (50, 95, 99, 100)) + " ms"),
        ("population after a step: min / final",
         (f"{int(result.population.min())} / {int(result.population[-1])} "
          f"(min {100 * result.min_population_share:.0f} % of cap)")),
        ("peak RSS", f"{usage.peak_rss_bytes / MIB:.1f} MiB"),
        ("average RSS (time-weighted)", f"{usage.average_rss_bytes / MIB:.1f} MiB"),
        ("CPU (process; per core, machine-wide)", f"{usage.cpu_percent:.0f} % ({cores})"),
        ("background threads CPU", f"{usage.background_thread_cpu_seconds:.2f} s"),
        ("database on disk after close", (f"{result.db_bytes / MIB:.2f} MiB "
                                          f"({result.db_bytes / max(result.steps, 1) / 1024:.1f} KiB per step)")),
        ("replay buffers full", full),
        (f"RSS growth per 1000 steps from step {result.leak_window_start}",
         f"{growth_bytes / MIB:+.2f} MiB ({growth_percent:+.3f} %): {verdict} the <= 1 % leak check"),
    )
    steps = np.arange(1, result.steps + 1)
    plot = soak_plot(steps, result.step_rss / MIB, result.step_seconds * 1e3, result.leak_window_start)
    return Section("Soak run", (
        Text(f"The AgentFarm preset with learning on and the SQLite log on disk, {result.agents} agents for "
             f"{result.steps} steps (seed {result.seed}), in a world that sustains its population: dense resource "
             "nodes (1000 in 100 x 100) regenerating by 1 every step, and the population cap at the initial "
             "count (farm.profiling.soak.SUSTAINING_RESOURCES)."),
        Table(("metric", "value"), rows, "Soak figures, measured by this run (per-step wall time and RSS after "
                                         "every step; peak/average RSS from a 50 ms sampler)"),
        Figure("soak_timeline", plot, "RSS after each step and step time (grey: every step; line: rolling median "
                                      "over 100 steps) over the soak; dotted: start of the leak-check window"),
    ))
