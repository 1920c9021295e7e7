"""The profiling suite: the plan's phases 1-4 in one command, written up as a report directory.

``run_profiling_suite [--quick] [--output DIR] [--preset agentfarm|light]`` (or ``python -m
farm.profiling``) writes ``report.md``, ``report.html`` (self-contained), ``figures/*.png``,
``cprofile.prof`` (for snakeviz), ``flamegraph.svg`` (py-spy) and the raw line/memory profiler
texts. Every number in the report is measured by this run.

The workload is the AgentFarm preset by default (13 channels, DDQN learning, the SQLite log on
disk), so hotspots and line profiles are those of what users run; ``--preset light`` profiles
the engine's light default configuration instead. ``--soak [--soak-steps N --soak-agents N]``
runs the soak instead of phases 1-4 (:mod:`farm.profiling.soak`).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from farm.profiling.availability import ToolStatus, ToolUnavailable, import_tool
from farm.profiling.comparisons import OptionUnavailable, find_switch, plan_comparisons, run_comparison
from farm.profiling.complexity import fit_power_law
from farm.profiling.cprofile_runner import Hotspot, profile_call
from farm.profiling.isolated_memory import memory_profile_isolated_each
from farm.profiling.line_profiling import line_profile
from farm.profiling.memory_profiling import trace_allocations
from farm.profiling.plots import bar_plot, scaling_plot, timeline_plot
from farm.profiling.pyspy_runner import py_spy_record, py_spy_top
from farm.profiling.report import Bullets, Figure, Report, ReportFiles, Section, Table, Text, write_report
from farm.profiling.scaling import memory_vs_agents, query_seconds_vs_density, stage_seconds_vs_agents
from farm.profiling.soak import run_soak, soak_section
from farm.profiling.targets import simulation_targets
from farm.profiling.thread_profiling import profile_threads
from farm.profiling.workload import AGENTFARM, LIGHT, workload_command, workload_config
from farm.utils.profiling_utils import monitor_resources

__all__ = ["SuiteSizes", "QUICK", "FULL", "SoakSizes", "SuiteResult", "run_suite", "main"]

logger = logging.getLogger(__name__)

TOOLS = ("cprofile", "py-spy", "line_profiler", "tracemalloc", "memory_profiler", "yappi")


@dataclass(frozen=True)
class SuiteSizes:
    """How big each experiment is. Attributes are agent counts, step counts and repeat counts."""

    baseline_agents: int
    baseline_steps: int
    pyspy_steps: int
    scaling_agents: tuple[int, ...]
    scaling_steps: int
    scaling_repeats: int
    memory_steps: int
    density_entities: tuple[int, ...]
    density_queries: int
    compare_agents: int
    compare_steps: int
    compare_repeats: int
    line_steps: int
    memprof_agents: int
    memprof_steps: int
    thread_steps: int


QUICK = SuiteSizes(
    baseline_agents=300, baseline_steps=300, pyspy_steps=5_000,
    scaling_agents=(100, 250, 500, 1_000, 2_000, 4_000), scaling_steps=25, scaling_repeats=3, memory_steps=5,
    density_entities=(1_000, 2_000, 4_000, 8_000, 16_000, 32_000), density_queries=2_000,
    compare_agents=200, compare_steps=150, compare_repeats=7,
    line_steps=100, memprof_agents=1_000, memprof_steps=3, thread_steps=100,
)
FULL = SuiteSizes(
    baseline_agents=1_000, baseline_steps=1_000, pyspy_steps=5_000,
    scaling_agents=(100, 250, 500, 1_000, 2_000, 4_000, 8_000), scaling_steps=50, scaling_repeats=3, memory_steps=10,
    density_entities=(1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000), density_queries=5_000,
    compare_agents=500, compare_steps=200, compare_repeats=7,
    line_steps=300, memprof_agents=2_000, memprof_steps=5, thread_steps=300,
)


@dataclass(frozen=True)
class SoakSizes:
    """Size of a soak run (``--soak``): initial agents (also the population cap) and steps."""

    agents: int = 1_000
    steps: int = 10_000

    def __post_init__(self) -> None:
        if self.agents < 3 or self.steps < 10:
            raise ValueError(f"a soak needs at least 3 agents and 10 steps, got {self.agents} and {self.steps}")


@dataclass
class SuiteResult:
    """What one suite run wrote and measured.

    Attributes:
        files: the written report.
        statuses: one per tool.
        seconds: the suite's wall time.
        hotspots: the top functions by self time.
    """

    files: ReportFiles
    statuses: list[ToolStatus]
    seconds: float
    hotspots: tuple[Hotspot, ...] = field(default=())


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f}"


def _mib(n_bytes: float) -> str:
    return f"{n_bytes / 1024**2:.2f}"


def _hotspot_table(rows: tuple[Hotspot, ...], caption: str) -> Table:
    return Table(
        ("#", "function", "calls", "self s", "cumulative s"),
        tuple(
            (str(i + 1), h.function, str(h.calls), f"{h.self_seconds:.4f}", f"{h.cumulative_seconds:.4f}")
            for i, h in enumerate(rows)
        ),
        caption,
    )


def _fit_table(series, what: str) -> Table:
    """Table of fitted exponents over all sizes and over the largest three.

    Exponent over every point, and over the three largest sizes only (where fixed per-call
    overhead has stopped dominating, so closer to the asymptotic order).
    """
    rows = []
    for s in series:
        fit = s.fit
        keep = (s.x > 0) & (s.y > 0)
        tail = fit_power_law(s.x[keep][-3:], s.y[keep][-3:]) if keep.sum() >= 4 else None
        rows.append(
            (
                s.label,
                "n/a" if fit is None else f"{fit.exponent:.2f}",
                "n/a" if fit is None else f"{fit.r_squared:.3f}",
                "n/a" if tail is None else f"{tail.exponent:.2f}",
            )
        )
    return Table(
        ("series", "fitted exponent", "R²", "exponent, 3 largest sizes"), tuple(rows), f"log-log slope of {what}"
    )


def _subprocess_env() -> dict[str, str]:
    import farm

    root = str(Path(farm.__file__).resolve().parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


class _Suite:
    def __init__(self, sizes: SuiteSizes, out: Path, seed: int, skip: Sequence[str], preset: str = AGENTFARM) -> None:
        self.sizes = sizes
        self.preset = preset
        self.out = out
        self.seed = seed
        self.skip = set(skip)
        self.statuses: list[ToolStatus] = []
        self.hotspots: tuple[Hotspot, ...] = ()
        self.findings: list[str] = []

    def config(self, agents: int, overrides: dict[str, Any] | None = None):
        return workload_config(agents, seed=self.seed, overrides=overrides, preset=self.preset)

    def tool(self, name: str, detail: str, section: list, body: Callable[[], None]) -> None:
        """Run one profiler's part; a missing or refused tool becomes a status line, not a crash."""
        if name in self.skip:
            self.statuses.append(ToolStatus(name, False, "skipped on request (--skip)"))
            section.append(Text(f"{name}: skipped on request."))
            return
        start = time.perf_counter()
        try:
            body()
        except ToolUnavailable as exc:
            logger.warning("%s", exc)
            self.statuses.append(ToolStatus(name, False, str(exc)))
            section.append(Text(f"{name} skipped: {exc}"))
            return
        self.statuses.append(ToolStatus(name, True, f"{detail}; {time.perf_counter() - start:.1f} s"))

    # Phase 1 -----------------------------------------------------------------------------------
    def phase1(self) -> Section:
        s = self.sizes
        what = (
            "the AgentFarm preset (13 channels at radius 5, bilinear resources, shared DDQN MLP policies "
            "learning as they act, the SQLite log on disk with the balanced profile)"
            if self.preset == AGENTFARM
            else "the light configuration (random policy, 4 channels, logging off)"
        )
        blocks: list = [
            Text(
                f"Baseline workload: {s.baseline_agents} agents, {s.baseline_steps} steps, 100 x 100 world, "
                f"seed {self.seed}, {what}."
            )
        ]
        from farm import Simulation

        with monitor_resources("baseline run") as monitor:
            with Simulation(self.config(s.baseline_agents)) as sim:
                sim.run(s.baseline_steps)
                stage_seconds = dict(sim.stage_seconds)
        self.baseline_usage = monitor.result
        total = sum(stage_seconds.values())
        ordered = sorted(stage_seconds.items(), key=lambda kv: -kv[1])
        blocks.append(
            Table(
                ("stage", "seconds", "ms per step", "share of step time"),
                tuple((k, f"{v:.4f}", _ms(v / s.baseline_steps), f"{100 * v / total:.1f} %") for k, v in ordered),
                f"Component share of step time (sim.stage_seconds, un-profiled run; total {total:.3f} s, "
                f"{s.baseline_steps / self.baseline_usage.wall_seconds:.1f} steps/s including construction)",
            )
        )
        top_stage, top_seconds = ordered[0]
        self.findings.append(
            f"Step time: {top_stage} takes {100 * top_seconds / total:.0f} % of it "
            f"({_ms(top_seconds / s.baseline_steps)} ms of {_ms(total / s.baseline_steps)} ms per step at "
            f"{s.baseline_agents} agents); next: "
            + ", ".join(f"{k} {100 * v / total:.0f} %" for k, v in ordered[1:3])
            + "."
        )
        blocks.append(
            Figure(
                "stage_share",
                bar_plot(
                    [k for k, _ in ordered],
                    [100 * v / total for _, v in ordered],
                    "Share of step time by stage",
                    "% of step time",
                ),
                "Each stage's share of step time (baseline run)",
            )
        )

        def cprofile() -> None:
            def run() -> None:
                with Simulation(self.config(s.baseline_agents)) as sim:
                    sim.run(s.baseline_steps)

            result = profile_call(run, self.out / "cprofile.prof", limit=10)
            self.hotspots = result.by_self
            self.findings.append(
                "Top self-time hotspots (cProfile): "
                + "; ".join(f"{h.function} {h.self_seconds:.3f} s" for h in result.by_self[:3])
                + "."
            )
            blocks.append(
                Text(
                    "cProfile: cprofile.prof (open with `snakeviz cprofile.prof`); "
                    f"{result.total_seconds:.3f} s profiled."
                )
            )
            blocks.append(_hotspot_table(result.by_self, "Top 10 hotspots by self time (cProfile)"))
            blocks.append(_hotspot_table(result.by_cumulative, "Top 10 by cumulative time (cProfile)"))

        self.tool("cprofile", "cprofile.prof + hotspot tables", blocks, cprofile)

        def pyspy() -> None:
            command = workload_command(s.baseline_agents, s.pyspy_steps, seed=self.seed, preset=self.preset)
            env = _subprocess_env()
            flame = py_spy_record(command, self.out / "flamegraph.svg", rate=100, env=env, cwd=self.out)
            blocks.append(
                Text(
                    f"py-spy record: flamegraph.svg, {flame.samples} samples ({flame.errors} errors), "
                    f"{s.baseline_agents} agents x {s.pyspy_steps} steps in a subprocess."
                )
            )
            top = py_spy_top(command, rate=100, env=env, cwd=self.out)
            blocks.append(
                Table(
                    ("function", "own %", "total %", "own s", "total s"),
                    tuple(
                        (
                            r.function,
                            f"{r.own_percent:.1f}",
                            f"{r.total_percent:.1f}",
                            f"{r.own_seconds:.2f}",
                            f"{r.total_seconds:.2f}",
                        )
                        for r in sorted(top.rows, key=lambda r: -r.own_seconds)[:10]
                    ),
                    f"py-spy top, last screen ({top.total_samples} samples in it), sorted by own seconds over the run; "
                    "the percentages are of the last refresh interval",
                )
            )

        self.tool("py-spy", "record (flamegraph.svg) + top", blocks, pyspy)
        return Section("Phase 1: macro-level profiling", tuple(blocks))

    # Phase 2 -----------------------------------------------------------------------------------
    def phase2(self) -> Section:
        s = self.sizes
        blocks: list = []
        stages = stage_seconds_vs_agents(
            s.scaling_agents, s.scaling_steps, s.scaling_repeats, seed=self.seed, preset=self.preset
        )
        blocks.append(
            Figure(
                "time_vs_agents",
                scaling_plot(stages, "Time per step against agents", "initial agents", "seconds per step"),
                f"Seconds per step of each stage against agents ({s.scaling_steps} steps, best of {s.scaling_repeats})",
            )
        )
        blocks.append(_fit_table(stages, "seconds per step against agents"))
        fitted = {x.label: x.fit for x in stages if x.fit is not None}
        per_stage = {label: fit for label, fit in fitted.items() if label != "whole step"}
        if per_stage:
            steepest = max(per_stage, key=lambda label: per_stage[label].exponent)
            whole = f"whole step ~ agents^{fitted['whole step'].exponent:.2f}; " if "whole step" in fitted else ""
            self.findings.append(
                f"Scaling over {s.scaling_agents[0]}-{s.scaling_agents[-1]} agents: {whole}steepest stage {steepest} ~ "
                f"agents^{per_stage[steepest].exponent:.2f} (R² {per_stage[steepest].r_squared:.2f})."
            )
        memory = memory_vs_agents(s.scaling_agents, s.memory_steps, seed=self.seed, preset=self.preset)
        blocks.append(
            Figure(
                "memory_vs_agents",
                scaling_plot(memory, "Memory against agents", "initial agents", "MiB (tracemalloc)"),
                f"Traced memory (numpy buffers included) against agents ({s.memory_steps} steps)",
            )
        )
        blocks.append(_fit_table(memory, "MiB against agents"))
        if memory[0].fit is not None and memory[1].fit is not None:
            self.findings.append(
                f"Memory: peak traced {memory[0].y[-1]:.1f} MiB at {s.scaling_agents[-1]} agents; peak ~ agents^"
                f"{memory[0].fit.exponent:.2f}, held ~ agents^{memory[1].fit.exponent:.2f}."
            )
        density, no_index = query_seconds_vs_density(
            s.density_entities, query_count=s.density_queries, repeats=5, seed=self.seed
        )
        blocks.append(
            Figure(
                "query_vs_density",
                scaling_plot(
                    density,
                    "Radius query (r = 5) against entity density",
                    "entities per square unit",
                    "µs per query point",
                ),
                f"Batched query_radius, {s.density_queries} query points in a 100 x 100 world, best of 5, "
                "one series per index kind",
            )
        )
        blocks.append(_fit_table(density, "µs per query against density"))
        if density:
            self.findings.append(
                "Radius queries against density: "
                + ", ".join(f"{x.label} ~ density^{x.fit.exponent:.2f}" for x in density if x.fit is not None)
                + "."
            )
        for kind, reason in no_index.items():
            blocks.append(Text(f"Index kind {kind}: not available in this build ({reason})."))

        rows = []
        self.measured_ratios: list[str] = []
        base = self.config(s.compare_agents)
        for comparison in plan_comparisons():
            if comparison.step_fraction != 1.0:
                comparison = dataclasses.replace(
                    comparison, name=f"{comparison.name} ({comparison.steps(s.compare_steps)} steps)"
                )
            try:
                result = run_comparison(comparison, base, s.compare_steps, s.compare_repeats)
            except Exception as exc:  # a variant that exists but fails is reported, the table goes on
                logger.exception("comparison %s failed", comparison.name)
                rows.append(
                    (
                        comparison.name,
                        comparison.baseline_label,
                        comparison.variant_label,
                        "failed",
                        f"{type(exc).__name__}: {exc}",
                        "",
                        "",
                        "",
                    )
                )
                continue
            if not result.measured:
                rows.append(
                    (
                        comparison.name,
                        comparison.baseline_label,
                        comparison.variant_label,
                        "—",
                        result.status,
                        "",
                        "",
                        "",
                    )
                )
                continue
            self.measured_ratios.append(
                f"{comparison.name} x{result.median_ratio:.2f} ({result.ratios.min():.2f}-{result.ratios.max():.2f})"
            )
            rows.append(
                (
                    comparison.name,
                    comparison.baseline_label,
                    comparison.variant_label,
                    f"{result.median_ratio:.3f}",
                    f"{result.ratios.min():.3f} – {result.ratios.max():.3f}",
                    f"{result.median_cpu_ratio:.3f} ({result.cpu_ratios.min():.3f} – {result.cpu_ratios.max():.3f})",
                    f"{np.median(result.baseline_seconds):.3f}",
                    f"{np.median(result.variant_seconds):.3f}",
                )
            )
        blocks.append(
            Table(
                (
                    "comparison",
                    "baseline",
                    "variant",
                    "wall-time ratio variant/baseline (median)",
                    "spread (min – max) or status",
                    "main-thread CPU ratio (median, min – max)",
                    "baseline wall s",
                    "variant wall s",
                ),
                tuple(rows),
                f"Configuration comparison: {s.compare_agents} agents, {s.compare_steps} steps, "
                f"{s.compare_repeats} paired repeats after a warm-up pair, order alternated; time of run + close "
                "(construction excluded); rows naming their own step count run fewer steps "
                "(learning policies cost far more per step). "
                "Ratio > 1: the variant is slower. The CPU ratio ignores waiting (disk, background threads) and is "
                "barely moved by other processes on a shared machine.",
            )
        )
        unavailable = [r[0] for r in rows if r[3] == "—"]
        self.findings.append(
            "Configuration ratios (variant/baseline, median and range): "
            + "; ".join(self.measured_ratios)
            + (f". Not available in this build: {', '.join(unavailable)}." if unavailable else ".")
        )
        return Section("Phase 2: component-level profiling", tuple(blocks))

    # Phase 3 -----------------------------------------------------------------------------------
    def phase3(self) -> Section:
        s = self.sizes
        blocks: list = []
        from farm import Simulation

        def line() -> None:
            sim = Simulation(self.config(s.baseline_agents))
            try:
                targets = simulation_targets(sim)
                result = line_profile(lambda: sim.run(s.line_steps), targets)
            finally:
                sim.close()
            (self.out / "line_profile.txt").write_text(result.text, encoding="utf-8")
            rows = []
            for f in result.functions:
                hot = f.hottest(1)[0] if f.lines else None
                share = f"{100 * hot.seconds / f.total_seconds:.0f} %" if hot and f.total_seconds > 0 else ""
                rows.append(
                    (f.label, f"{f.total_seconds:.4f}", f"{hot.lineno}: {hot.source.strip()}" if hot else "", share)
                )
            blocks.append(
                Table(
                    ("target", "seconds", "hottest line", "its share"),
                    tuple(rows),
                    f"line_profiler over {s.line_steps} steps, {s.baseline_agents} agents "
                    "(full listing: line_profile.txt)",
                )
            )
            missing = sorted({t.label for t in targets} - {f.label for f in result.functions})
            if missing:
                blocks.append(Text("Targets never called in this run: " + ", ".join(missing)))

        self.tool("line_profiler", "line_profile.txt", blocks, line)

        def allocations() -> None:
            def run() -> None:
                with Simulation(self.config(s.baseline_agents)) as sim:
                    sim.run(s.line_steps)
                    self._held = sim  # keep it alive until the snapshot so its memory is attributed

            result = trace_allocations(run, top=10)
            self._held = None
            blocks.append(
                Table(
                    ("allocation site", "KiB", "blocks", "source"),
                    tuple(
                        (
                            site.location.split("/farm/")[-1] if "/farm/" in site.location else site.location,
                            f"{site.size_bytes / 1024:.1f}",
                            str(site.count),
                            site.source,
                        )
                        for site in result.sites
                    ),
                    f"tracemalloc: top sites of memory allocated during build + {s.line_steps} steps "
                    "and still held at its end; "
                    f"peak traced {_mib(result.peak_bytes)} MiB, net {_mib(result.net_bytes)} MiB",
                )
            )

        self.tool("tracemalloc", "allocation sites", blocks, allocations)

        def memprof() -> None:
            # One target per fresh process: memory_profiler misattributes RSS when a traced function
            # calls another traced one, and this process's allocator already holds freed pages from
            # the earlier phases (every increment would read 0).
            probe = Simulation(self.config(s.memprof_agents))
            labels = [t.label for t in simulation_targets(probe)]
            probe.close()
            functions, texts = [], []
            each = memory_profile_isolated_each(
                s.memprof_agents, s.memprof_steps, labels, self.seed, env=_subprocess_env(), cwd=self.out,
                preset=self.preset,
            )
            for profile, text in each:
                if profile is not None:
                    functions.append(profile)
                texts.append(text)
            (self.out / "memory_profile.txt").write_text("\n".join(texts), encoding="utf-8")
            rows = []
            for f in functions:
                body = f.lines[1:] if len(f.lines) > 1 else f.lines  # the def line carries the baseline
                top = max(body, key=lambda line: (line.increment_mib, -line.lineno))
                where = f"{top.lineno}: {top.source.strip()}" if top.increment_mib > 0 else "(no line grew RSS)"
                rows.append(
                    (
                        f.label,
                        str(len(f.lines)),
                        where,
                        f"{top.increment_mib:.2f}",
                        f"{max(line.usage_mib for line in f.lines):.1f}",
                    )
                )
            blocks.append(
                Table(
                    ("target", "lines traced", "largest RSS increment line", "increment MiB", "RSS after MiB"),
                    tuple(rows),
                    "memory_profiler, each target traced alone in a fresh process over "
                    f"{s.memprof_steps} steps, {s.memprof_agents} agents (full listing: memory_profile.txt). "
                    "RSS moves in pages: small allocations show 0.",
                )
            )

        self.tool("memory_profiler", "memory_profile.txt", blocks, memprof)
        return Section("Phase 3: line-level profiling", tuple(blocks))

    # Phase 4 -----------------------------------------------------------------------------------
    def phase4(self) -> Section:
        s = self.sizes
        usage = self.baseline_usage
        io = (
            "n/a (psutil cannot read I/O counters here)"
            if usage.read_bytes is None
            else (f"read {_mib(usage.read_bytes)} MiB, write {_mib(usage.write_bytes)} MiB")
        )
        blocks: list = [
            Table(
                ("metric", "value"),
                (
                    ("wall time", f"{usage.wall_seconds:.3f} s"),
                    ("CPU", f"{usage.cpu_percent:.0f} % ({usage.cpu_seconds:.3f} s)"),
                    (
                        "CPU per core (machine-wide busy share)",
                        " / ".join(f"{p:.0f} %" for p in usage.per_core_cpu_percent) or "n/a",
                    ),
                    ("background threads CPU", f"{usage.background_thread_cpu_seconds:.3f} s"),
                    ("RSS delta", f"{usage.rss_delta_bytes / 1024**2:+.2f} MiB"),
                    ("peak RSS", f"{_mib(usage.peak_rss_bytes)} MiB"),
                    ("average RSS (time-weighted)", f"{_mib(usage.average_rss_bytes)} MiB"),
                    ("I/O", io),
                    ("RSS samples", str(usage.sample_rss.size)),
                ),
                "monitor_resources over the baseline run (construction + steps + close)",
            )
        ]
        blocks.append(
            Figure(
                "rss_timeline",
                timeline_plot(usage.sample_times, usage.sample_rss / 1024**2, "RSS during the baseline run", "RSS MiB"),
                "Resident set size over time, sampled every 10 ms by a psutil thread",
            )
        )

        def threads() -> None:
            from farm import Simulation

            work = Path(tempfile.mkdtemp(prefix="farm-yappi-"))
            overrides: dict[str, Any] = {"storage.db_path": str(work / "run.db")}
            note = "disk database, synchronous logging (no asynchronous writer option in this build)"
            try:
                name, on, _off = find_switch(self.config(s.baseline_agents).storage, "async")
                overrides[f"storage.{name}"] = on
                note = f"disk database, storage.{name} = {on!r}"
            except OptionUnavailable:
                pass

            def run() -> None:
                with Simulation(self.config(s.baseline_agents, overrides)) as sim:
                    sim.run(s.thread_steps)

            try:
                result = profile_threads(run)
            finally:
                shutil.rmtree(work, ignore_errors=True)
            rows = []
            for t in result.threads:
                top = "; ".join(f"{f.function.split('/')[-1]} {f.self_seconds:.3f} s" for f in t.functions[:3])
                rows.append((t.name, f"{t.seconds:.3f}", top))
            blocks.append(
                Table(
                    ("thread", "CPU s", "top functions by self time"),
                    tuple(rows),
                    f"yappi (CPU clock), {s.baseline_agents} agents, {s.thread_steps} steps, {note}",
                )
            )
            if result.only_main_thread:
                blocks.append(Text("Only the main thread ran Python code during this run."))

        self.tool("yappi", "per-thread profile", blocks, threads)
        return Section("Phase 4: system-level profiling", tuple(blocks))


def _environment_table(mode: str, seed: int, preset: str) -> Table:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return Table(
        ("item", "value"),
        (
            ("mode", mode),
            ("workload preset", preset),
            ("seed", str(seed)),
            ("python", platform.python_version()),
            ("numpy", np.__version__),
            ("platform", platform.platform()),
            ("CPUs", str(os.cpu_count())),
            ("load average at start (1/5/15 min)", " / ".join(f"{x:.2f}" for x in load)),
        ),
    )


def run_suite(
    output_dir: str | Path,
    quick: bool = True,
    seed: int = 42,
    skip: Sequence[str] = (),
    sizes: SuiteSizes | None = None,
    preset: str = AGENTFARM,
    soak: SoakSizes | None = None,
) -> SuiteResult:
    """Run phases 1-4 (or, with ``soak``, the soak run alone) and write the report into ``output_dir``.

    Args:
        output_dir: the report directory (created).
        quick: QUICK sizes instead of FULL (ignored when ``sizes`` is given).
        seed: the workload seed.
        skip: profilers to leave out (names in :data:`TOOLS`).
        sizes: explicit experiment sizes.
        preset: the profiled workload, ``"agentfarm"`` (default) or ``"light"``.
        soak: run the soak of this size instead of phases 1-4 (always the AgentFarm preset).

    Returns:
        The :class:`SuiteResult`.
    """
    if preset not in (AGENTFARM, LIGHT):
        raise ValueError(f"preset must be {AGENTFARM!r} or {LIGHT!r}, got {preset!r}")
    start = time.perf_counter()
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    suite = _Suite(sizes or (QUICK if quick else FULL), out, seed, skip, preset)
    if soak is not None:
        environment = _environment_table(f"soak ({soak.agents} agents x {soak.steps} steps)", seed, AGENTFARM)
        result = run_soak(soak.agents, soak.steps, seed, work_dir=out / "soak")
        growth = result.rss_growth[1]
        suite.findings.append(
            f"Soak: {result.agents} agents x {result.steps} steps, p99 step {result.latency_ms(99):.2f} ms, peak RSS "
            f"{result.usage.peak_rss_bytes / 1024**2:.1f} MiB, RSS growth {growth:+.3f} % per 1000 steps after the "
            f"replay buffers filled ({'within' if growth <= 1.0 else 'OVER'} the 1 % leak limit), population never "
            f"below {100 * result.min_population_share:.0f} % of its cap."
        )
        sections = [soak_section(result)]
    else:
        environment = _environment_table("quick" if quick else "full", seed, preset)
        sections = [suite.phase1(), suite.phase2(), suite.phase3(), suite.phase4()]
    statuses = list(suite.statuses)
    for module, tool in (
        ("line_profiler", "line_profiler"),
        ("memory_profiler", "memory_profiler"),
        ("yappi", "yappi"),
    ):
        try:
            version = getattr(import_tool(module, tool), "__version__", "")
        except ToolUnavailable:
            continue
        statuses = [
            ToolStatus(st.tool, st.available, f"{version} — {st.detail}")
            if st.tool == tool and st.available and version
            else st
            for st in statuses
        ]
    seconds = time.perf_counter() - start
    summary = Section(
        "Run",
        (
            environment,
            Table(
                ("tool", "ran", "detail"),
                tuple((st.tool, "yes" if st.available else "no", st.detail) for st in statuses),
                "Profilers",
            ),
            Text(f"Suite wall time: {seconds:.1f} s."),
        ),
    )
    skipped = [f"{st.tool}: {st.detail}" for st in statuses if not st.available]
    findings = suite.findings + ([f"Skipped: {'; '.join(skipped)}."] if skipped else [])
    findings_section = Section("Findings (computed from this run)", (Bullets(tuple(findings)),))
    report = Report("AgentFarm profiling report", (summary, findings_section, *sections))
    files = write_report(report, out)
    return SuiteResult(files, statuses, seconds, suite.hotspots)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry (``run_profiling_suite``): run the suite and log where the report went.

    Args:
        argv: command-line arguments (None: ``sys.argv[1:]``).

    Returns:
        0 (skipped profilers are logged as warnings, not failures).
    """
    parser = argparse.ArgumentParser(
        prog="run_profiling_suite",
        description="Profile the AgentFarm engine (phases 1-4 of the profiling plan) and write a report directory.",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (about two minutes)")
    parser.add_argument("--output", "-o", default="profiling_report", help="report directory (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--skip", action="append", default=[], choices=TOOLS, help="skip a profiler (repeatable)")
    parser.add_argument(
        "--preset",
        default=AGENTFARM,
        choices=(AGENTFARM, LIGHT),
        help="profiled workload: the AgentFarm preset (learning and logging on) or the light "
        "default configuration (default: %(default)s)",
    )
    parser.add_argument(
        "--soak",
        action="store_true",
        help="run the soak (AgentFarm preset, learning on, log on disk, sustained population) instead of phases 1-4",
    )
    parser.add_argument("--soak-steps", type=int, default=SoakSizes.steps, help="soak steps (default: %(default)s)")
    parser.add_argument(
        "--soak-agents",
        type=int,
        default=SoakSizes.agents,
        help="soak agents, also the population cap (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        soak = SoakSizes(args.soak_agents, args.soak_steps) if args.soak else None
    except ValueError as exc:
        parser.error(str(exc))
    result = run_suite(args.output, quick=args.quick, seed=args.seed, skip=args.skip, preset=args.preset, soak=soak)
    for status in result.statuses:
        if not status.available:
            logger.warning("%s", status.detail)
    logger.info("report: %s (%.1f s)", result.files.html, result.seconds)
    return 0
