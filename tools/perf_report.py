"""Write docs/performance.md: the agentfarm preset before and after its optimisations (issue 11.5).

Every figure in the report is measured by this script; none is typed by hand. For each commit it
needs, it checks the commit out with ``git worktree add`` into a temporary directory and runs the
measurement in a fresh Python process whose ``farm`` is that commit's (``PYTHONPATH``), so the
measuring code is the same for every commit:

* the top-10 hotspots (cProfile, self time) of the preset at ``--agents`` agents (in
  bench_workload's sustaining world, so the population stays at that count), learning off,
  ``--steps`` steps after ``--warmup`` steps, at the base commit and at the last commit;
* every optimisation commit (subject starting with ``Perf:`` between the base and the last
  commit) against its parent: the median CPU time per step of each, measured in ``--rounds``
  interleaved rounds (parent, commit, parent, commit..., a fresh process each); each side keeps
  its lowest round and the ratio is of those (:func:`best_of_rounds`). This host kind has a slow
  mode that slows whole processes by up to about 2x for seconds to minutes: the lowest of
  several interleaved rounds is the one least touched by it, on both sides. The base against
  the last commit is measured the same way. Next to each ratio, the instruction counts of the
  commit and its parent in the reference series (``results/agentfarm-reference/``, the asv tracks
  of ``benchmarks/bench_instructions.py``): read from the stored results, not measured here, as
  they repeat within about 0.5 % from run to run on that machine and a timed ratio of one
  sitting does not;
* the last commit's step time against the sum of its parts' floors, measured in one process by
  ``benchmarks/bench_workload.py`` (:func:`measure_workload`), learning off and on, at
  ``floor_agents`` agents and, learning off, at ``small_agents``;
* the last commit's step at several populations (``population_agents``), learning off, and the
  least-squares line through them: the part of a step that does not grow with the population;
* where a step at learning on goes: the last commit's learning-on step, stage by stage (means),
  against the floors of the learning-on floor-sum run that bound them, and its hotspots;
* what a step is made of at each population (and at ``small_agents``): function calls per step and
  self time by part of the stack (farm, numpy, torch, other) under cProfile, and the hotspots at
  ``small_agents``: the profiles behind the targets the fixed part of a step decides;
* issue 11's targets, each against the figure of this run that it limits.

Usage::

    python tools/perf_report.py                      # base: parent of the first Perf: commit
    python tools/perf_report.py --base f813ed1 --last HEAD --rounds 5
    python tools/perf_report.py --quick --out /tmp/perf.md   # tiny sizes, for tests
    python tools/perf_report.py --rounds 5 --wait-quiet 120  # each timed round in the host's fast mode

The machine's load is printed in the report header: wall-time ratios measured side by side are
meaningful on a loaded machine, absolute milliseconds much less so.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import importlib.util
import json
import math
import os
import platform
import pstats
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from historylib import hostnoise
from historylib.gitrepo import ENGINE_PATHS
from historylib.results import find_point, load_points

REPO = Path(__file__).resolve().parents[1]
WORKLOAD = REPO / "benchmarks" / "bench_workload.py"

# The child that times steps. It only uses what every commit since the preset has:
# SimulationConfig.preset, Simulation.step and stage_seconds.
_TIMING_CHILD = r"""
import cProfile, json, os, resource, statistics, sys, tempfile, time
from farm import Simulation, SimulationConfig
a = json.loads(sys.argv[1])
base, extra = divmod(a["agents"], 3)
overrides = {"seed": 7, "agents.system": base + (extra > 0), "agents.independent": base + (extra > 1),
             "agents.control": base}
if a["learning"] == "off":
    overrides["decision.ddqn"] = {"learning_starts": 10**9}
overrides.update(a.get("world") or {})
with tempfile.TemporaryDirectory() as directory:
    overrides["storage.db_path"] = os.path.join(directory, "run.db")
    sim = Simulation(SimulationConfig.preset("agentfarm").with_overrides(overrides))
    for _ in range(a["warmup"]):
        sim.step()
    profile = cProfile.Profile() if a.get("profile") else None
    steps, cpu, stages = [], [], {k: [] for k in sim.stage_seconds}
    for _ in range(a["steps"]):
        before = dict(sim.stage_seconds)
        if profile: profile.enable()
        c = time.process_time(); t = time.perf_counter(); sim.step()
        steps.append(time.perf_counter() - t); cpu.append(time.process_time() - c)
        if profile: profile.disable()
        for k in stages: stages[k].append(sim.stage_seconds[k] - before[k])
    population = len(sim.state)
    sim.close()
if profile:
    profile.dump_stats(a["profile"])
print(json.dumps({"step": statistics.median(steps), "cpu": statistics.median(cpu), "population": population,
                  "stages": {k: statistics.median(v) for k, v in stages.items()},
                  "step_mean": statistics.fmean(steps),
                  "stage_means": {k: statistics.fmean(v) for k, v in stages.items()},
                  "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


@dataclass(frozen=True)
class Sizes:
    """What one report measures.

    Attributes:
        agents: initial agents of the preset.
        warmup: steps run before anything is timed (1 000 agents: 40 fills the replay buffers).
        steps: timed steps per measurement.
        rounds: interleaved rounds of every measurement that is compared or fitted (each optimisation
            against its parent, base against last, the floor-sum runs, the population points): the
            lowest of them is kept.
        floor_agents: agents of the floor-sum measurement.
        small_agents: agents of the second floor-sum measurement (learning off).
        floor_run_steps, floor_timed_steps: steps bench_workload runs before timing, and times.
        population_agents: populations of the step-time-against-population line.
        noise_seconds: length of each of the two host slow-mode probes (start and end).
    """

    agents: int = 1_000
    warmup: int = 40
    steps: int = 30
    rounds: int = 3
    floor_agents: int = 1_000
    small_agents: int = 100
    floor_run_steps: int = 200
    floor_timed_steps: int = 30
    population_agents: tuple[int, ...] = (10, 100, 300, 1_000)
    noise_seconds: float = 10.0


QUICK = Sizes(agents=45, warmup=2, steps=3, rounds=1, floor_agents=30, small_agents=12, floor_run_steps=5,
              floor_timed_steps=3, population_agents=(6, 15, 30), noise_seconds=1.0)

# Issue 11's targets (upper limits), each checked against this run's figure.
STEP_LIMIT_MS_LEARNING_OFF = 9.0  # floor_agents agents
STEP_LIMIT_MS_LEARNING_ON = 12.0  # floor_agents agents
STEP_LIMIT_MS_SMALL = 1.2  # small_agents agents, learning off
FLOOR_SUM_RATIO_LIMIT = 1.5
RECORD_LIMIT_MS = 1.0
LOG_STEP_LIMIT_MS = 1.5
RSS_OVER_BUDGET_LIMIT = 1.0  # peak RSS / (import floor + RSS_BUDGET_REPLAY_FACTOR x replay-buffer bytes)

PROFILE_GROUPS = ("farm", "numpy", "torch", "other")
# The floors of bench_workload that bound each stage of a step on the main thread (sqlite's runs on
# the log's writer thread; the stages without one have no floor measured).
STAGE_FLOORS = {"observe": ("spatial", "gather"), "decide": ("forward",), "learn": ("train",)}
REFERENCE_SERIES = "agentfarm-reference"
# The instruction tracks an optimisation row shows: (column heading, benchmark, parameters).
INSTRUCTION_TRACKS = (
    ("instructions per step, preset at 100 agents", "bench_instructions.StepInstructions.track_step_instructions",
     ["agentfarm"]),
    ("instructions per observation build, 1 000 agents",
     "bench_instructions.ObservationBuildInstructions.track_observation_build_instructions", None),
)


def stored_instructions(results_dir: Path, series: str, sha: str) -> list[float | None]:
    """The :data:`INSTRUCTION_TRACKS` values of commit ``sha`` in ``results_dir/series`` (None
    where the series has not measured it)."""
    points = load_points(results_dir, series, sha)
    return [find_point(points, name, params) for _, name, params in INSTRUCTION_TRACKS]


def instruction_change(parent: float | None, commit: float | None) -> str:
    """``"15.18 → 14.24 M (-6.2 %)"``, or ``"—"`` when either side is missing."""
    if parent is None or commit is None:
        return "—"
    return f"{parent / 1e6:.2f} → {commit / 1e6:.2f} M ({(commit / parent - 1) * 100:+.1f} %)"


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO, check=True, capture_output=True, text=True,
                          timeout=120).stdout.strip()


def engine_commit(rev: str) -> str:
    """The newest commit at or before ``rev`` that changed the engine (``farm/``, ``setup.py``):
    what a report of ``rev`` measures, named by a commit the history graphs (a results or docs
    commit on top of it runs the same code)."""
    return git("log", "-1", "--format=%H", git("rev-parse", rev), "--", *ENGINE_PATHS) or git("rev-parse", rev)


def perf_commits(base: str, last: str) -> list[tuple[str, str]]:
    """``(sha, subject)`` of the first-parent commits in ``base..last`` whose subject starts
    with ``Perf:``, oldest first."""
    out = git("log", "--first-parent", "--reverse", "--format=%H%x09%s", f"{base}..{last}")
    rows = [line.split("\t", 1) for line in out.splitlines() if line]
    return [(sha, subject) for sha, subject in rows if subject.startswith("Perf:")]


class Checkouts:
    """Detached ``git worktree``s of commits in a temporary directory, removed on exit."""

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="perf-report-")
        self.paths: dict[str, Path] = {}

    def __enter__(self) -> "Checkouts":
        return self

    def path(self, sha: str) -> Path:
        if sha not in self.paths:
            target = Path(self._tmp.name) / sha[:12]
            git("worktree", "add", "--detach", "--force", str(target), sha)
            self.paths[sha] = target
        return self.paths[sha]

    def __exit__(self, *exc: object) -> None:
        for target in self.paths.values():
            subprocess.run(["git", "worktree", "remove", "--force", str(target)], cwd=REPO, check=False, timeout=120,
                           capture_output=True)
        self._tmp.cleanup()


def _env(tree: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(tree)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[name] = "1"
    return env


@functools.cache
def _workload_module():
    """``benchmarks/bench_workload.py`` of this checkout, loaded once."""
    spec = importlib.util.spec_from_file_location("bench_workload_for_report", WORKLOAD)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sustaining_world(agents: int) -> dict:
    """The overrides that hold the population at ``agents`` (bench_workload's world, read from
    this checkout's ``benchmarks/bench_workload.py``): without them the preset's 1 000 agents
    starve to a few hundred, and a "1 000-agent" step would be a smaller one."""
    return {**_workload_module().SUSTAINING, "agents.max_population": agents}


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), or the platform's processor string."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def time_steps(tree: Path, sizes: Sizes, learning: str = "off", profile: str | None = None,
               agents: int | None = None) -> dict:
    """Median step and stage seconds of the preset with ``tree``'s farm, in a fresh process, in
    the world that holds the population at ``agents`` (default ``sizes.agents``;
    :func:`sustaining_world`)."""
    agents = sizes.agents if agents is None else agents
    args = {"agents": agents, "warmup": sizes.warmup, "steps": sizes.steps, "learning": learning,
            "profile": profile, "world": sustaining_world(agents)}
    done = subprocess.run([sys.executable, "-c", _TIMING_CHILD, json.dumps(args)], cwd=tree, env=_env(tree),
                          capture_output=True, text=True, check=False, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"timing child failed in {tree}:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def hotspots(profile_path: str, tree: Path, top: int = 10) -> list[tuple[str, int, float, float]]:
    """``(function, calls, self seconds, cumulative seconds)`` of the ``top`` functions by self
    time, paths relative to ``tree`` (or to site-packages)."""
    stats = pstats.Stats(profile_path).stats
    rows = []
    for (filename, line, name), (_, calls, self_time, cumulative, _) in stats.items():
        where = filename
        if filename.startswith(str(tree)):
            where = os.path.relpath(filename, tree)
        elif "site-packages" in filename:
            where = filename.split("site-packages/", 1)[1]
        label = f"{where}:{line}({name})" if line else name
        rows.append((label, calls, self_time, cumulative))
    rows.sort(key=lambda row: row[2], reverse=True)
    return rows[:top]


def _profile_group(filename: str, name: str, tree: Path) -> str:
    """Which part of the stack a cProfile entry's self time belongs to: ``farm``, ``numpy``,
    ``torch`` or ``other`` (the interpreter, the standard library, scipy, sqlite3)."""
    where = filename if filename != "~" else name
    if filename.startswith(str(tree)):
        return "farm"
    for group in ("numpy", "torch"):
        if f"/{group}/" in where or f"{group}." in where or f"'{group}" in where:
            return group
    return "other"


def profile_composition(profile_path: str, tree: Path, steps: int) -> dict:
    """Per step of a profile of ``steps`` steps: ``calls`` (every function call cProfile saw,
    primitive or not) and the self seconds of each :func:`_profile_group`."""
    stats = pstats.Stats(profile_path)
    groups = dict.fromkeys(PROFILE_GROUPS, 0.0)
    for (filename, _, name), (_, _, self_time, _, _) in stats.stats.items():
        groups[_profile_group(filename, name, tree)] += self_time
    return {"calls": stats.total_calls / steps, **{group: seconds / steps for group, seconds in groups.items()}}


def measure_floors(tree: Path, sizes: Sizes, learning: str, agents: int | None = None) -> dict:
    """bench_workload's :func:`measure_workload` (this checkout's script) against ``tree``'s farm,
    at ``agents`` (default ``sizes.floor_agents``)."""
    agents = sizes.floor_agents if agents is None else agents
    return _workload_child(tree, {"agents": agents, "learning": learning, "network": "mlp",
                                  "run_steps": sizes.floor_run_steps, "timed_steps": sizes.floor_timed_steps})


def measure_rerun(tree: Path, sizes: Sizes) -> dict:
    """bench_workload's :func:`measure_rerun` (this checkout's script) against ``tree``'s farm: the
    preset at ``sizes.floor_agents`` agents, learning off, run twice into one database file."""
    return _workload_child(tree, {"rerun": True, "agents": sizes.floor_agents, "run_steps": sizes.floor_run_steps,
                                  "timed_steps": sizes.floor_timed_steps})


def measure_store_parts(tree: Path, sizes: Sizes) -> dict:
    """bench_workload's :func:`measure_store_parts` (this checkout's script) against ``tree``'s farm:
    the learn stage at ``sizes.floor_agents`` agents, learning off, split into the frame writes, the
    wait for the worker's copies and the bookkeeping, the bookkeeping run again warm, and the
    worker's copies."""
    return _workload_child(tree, {"store_parts": True, "agents": sizes.floor_agents,
                                  "run_steps": sizes.floor_run_steps, "timed_steps": sizes.floor_timed_steps})


def _workload_child(tree: Path, arguments: dict) -> dict:
    done = subprocess.run([sys.executable, str(WORKLOAD), json.dumps(arguments)], cwd=tree, env=_env(tree),
                          capture_output=True, text=True, check=False, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"workload child failed in {tree}:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _ms(seconds: float) -> str:
    return f"{1e3 * seconds:.2f}"


def _hotspot_table(rows) -> list[str]:
    lines = ["| # | function | calls | self s | cumulative s |", "|---|---|---|---|---|"]
    for index, (label, calls, self_time, cumulative) in enumerate(rows, 1):
        lines.append(f"| {index} | `{label}` | {calls} | {self_time:.3f} | {cumulative:.3f} |")
    return lines


def describe_noise(summary: hostnoise.NoiseSummary) -> str:
    """One clause: the share of half-second windows in the slow mode, and the fastest call (its
    absolute time tells a probe spent wholly in the slow mode from a quiet one)."""
    return (f"{summary.slow_windows:.0%} of {summary.window_s:g} s windows slow, fastest probe call "
            f"{1e3 * summary.fastest_s:.2f} ms")


def build_report(base: str, last: str, sizes: Sizes, command: str, commits: list[str] | None = None,
                 gate: hostnoise.QuietRounds | None = None, results_dir: Path = REPO / "results",
                 series: str = REFERENCE_SERIES) -> str:
    """Measure everything and return the markdown. ``commits``: the optimisation commits to
    measure against their parents (default: the ``Perf:`` commits in ``base..last``). ``gate``:
    every timed round runs between two quiet probes (:func:`gated`). ``results_dir``/``series``:
    where each optimisation's stored instruction counts are read (:func:`stored_instructions`)."""
    base_sha, last_sha = engine_commit(base), engine_commit(last)
    if commits is None:
        optimisations = perf_commits(base_sha, last_sha)
    else:
        optimisations = [(git("rev-parse", c), git("log", "-1", "--format=%s", c)) for c in commits]
    lines: list[str] = []
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    noise_at_start = hostnoise.measure(sizes.noise_seconds)
    with Checkouts() as checkouts, tempfile.TemporaryDirectory(prefix="perf-prof-") as profiles:
        # Hotspots, before and after.
        tables = {}
        for label, sha in (("before", base_sha), ("after", last_sha)):
            tree = checkouts.path(sha)
            path = os.path.join(profiles, f"{label}.prof")
            timing = gated(gate, functools.partial(time_steps, tree, sizes, profile=path))
            tables[label] = (sha, timing, hotspots(path, tree))
        # Each optimisation against its parent, interleaved rounds.
        ratios = []
        for sha, subject in optimisations:
            parent = git("rev-parse", f"{sha}^")
            parent_tree, tree = checkouts.path(parent), checkouts.path(sha)
            before, after = best_of_rounds(lambda: time_steps(parent_tree, sizes), lambda: time_steps(tree, sizes),
                                           rounds=sizes.rounds, gate=gate)
            # Learning on (the preset's default), one round: CPU per step and the process's peak RSS.
            on_before, on_after = gated(gate, lambda: (time_steps(parent_tree, sizes, learning="on"),
                                                       time_steps(tree, sizes, learning="on")))
            counts = zip(stored_instructions(results_dir, series, engine_commit(parent)),
                         stored_instructions(results_dir, series, engine_commit(sha)))
            ratios.append((sha, subject, before["cpu"], after["cpu"], before["cpu"] / after["cpu"],
                           on_before, on_after, [instruction_change(b, a) for b, a in counts]))
        # Base against last, without the profiler, learning off and on.
        plain = {}
        for learning in ("off", "on"):
            plain[("before", learning)], plain[("after", learning)] = best_of_rounds(
                lambda: time_steps(checkouts.path(base_sha), sizes, learning=learning),
                lambda: time_steps(checkouts.path(last_sha), sizes, learning=learning), rounds=sizes.rounds, gate=gate)
        last_tree = checkouts.path(last_sha)
        floors_off, floors_on, small = best_of_rounds(
            functools.partial(measure_floors, last_tree, sizes, "off"),
            functools.partial(measure_floors, last_tree, sizes, "on"),
            functools.partial(measure_floors, last_tree, sizes, "off", agents=sizes.small_agents),
            rounds=sizes.rounds, key="step_seconds", gate=gate)
        floors = {"off": floors_off, "on": floors_on}
        populations = best_of_rounds(*(functools.partial(time_steps, last_tree, sizes, agents=n)
                                       for n in sizes.population_agents), rounds=sizes.rounds, gate=gate)
        # Profiles of the last commit where the targets other than 1 000 agents learning off lie:
        # learning on, and each population of the line (the fixed part of a step).
        path = os.path.join(profiles, "on.prof")
        gated(gate, functools.partial(time_steps, last_tree, sizes, learning="on", profile=path,
                                      agents=sizes.floor_agents))
        profile_on = (hotspots(path, last_tree), profile_composition(path, last_tree, sizes.steps))
        compositions = []
        for n in sorted({*sizes.population_agents, sizes.small_agents}):
            path = os.path.join(profiles, f"population-{n}.prof")
            if n == sizes.agents:  # the same run as the "after" hotspots: read its profile again
                path = os.path.join(profiles, "after.prof")
            else:
                gated(gate, functools.partial(time_steps, last_tree, sizes, profile=path, agents=n))
            compositions.append((n, profile_composition(path, last_tree, sizes.steps),
                                 hotspots(path, last_tree) if n == sizes.small_agents else None))
        (store,) = best_of_rounds(functools.partial(measure_store_parts, last_tree, sizes), rounds=sizes.rounds,
                                  key="learn_seconds", gate=gate)
        import_floor = _workload_module().import_floor_rss(pythonpath=str(last_tree))
        reruns = best_of_rounds(functools.partial(measure_rerun, checkouts.path(base_sha), sizes),
                                functools.partial(measure_rerun, last_tree, sizes),
                                rounds=sizes.rounds, key="second_run_step_seconds", gate=gate)
    noise_at_end = hostnoise.measure(sizes.noise_seconds)

    lines += [
        "# Performance of the agentfarm preset",
        "",
        f"Generated by `{command}` on {datetime.date.today().isoformat()}; do not edit by hand.",
        f"Machine: {cpu_model()} ({platform.machine()}), {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load average at start {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}. One torch thread.",
        f"The host's slow mode (`python tools/asv_history.py noise`, {sizes.noise_seconds:g} s probes): "
        f"{describe_noise(noise_at_start)} at the start, {describe_noise(noise_at_end)} at the end."
        + ("" if gate is None else
           f" Every timed round ran between two quiet probes (`--wait-quiet`: {hostnoise.QUIET_PROBE_SECONDS:g} s "
           f"each, at most {hostnoise.QUIET_SLOW_WINDOWS:.0%} of half-second windows slow): {gate.rounds} round(s), "
           f"{gate.redone} run again after a slow probe."),
        f"Base {base_sha[:10]}, last {last_sha[:10]}. Preset at {sizes.agents} agents in bench_workload's "
        "sustaining world (the population held at its initial count), log on disk; "
        f"{sizes.warmup} warm-up steps, then the median of {sizes.steps} steps.",
        "",
        "Wall milliseconds depend on the machine's load at the time. CPU milliseconds (the process's",
        "user + system time per step, page faults included) are what a step costs whatever else runs;",
        f"the ratios use them, measured side by side ({sizes.rounds} interleaved rounds, a fresh process each, "
        "each side's lowest round kept).",
        "",
        "## Step time, before and after",
        "",
        "| learning | before CPU ms/step | after CPU ms/step | before / after | before wall ms | after wall ms |"
        " population after the timed steps |",
        "|---|---|---|---|---|---|---|",
    ]
    for learning in ("off", "on"):
        b, a = plain[("before", learning)], plain[("after", learning)]
        lines.append(f"| {learning} | {_ms(b['cpu'])} | {_ms(a['cpu'])} | {b['cpu'] / a['cpu']:.2f} | "
                     f"{_ms(b['step'])} | {_ms(a['step'])} | {b['population']} / {a['population']} |")
    stage_names = list(dict.fromkeys([*tables["before"][1]["stages"], *tables["after"][1]["stages"]]))
    lines += ["", "Stages, learning off (wall ms, median over steps; the hotspot run, under cProfile):", "",
              "| stage | before | after |", "|---|---|---|"]
    for stage in stage_names:
        b = tables["before"][1]["stages"].get(stage)
        a = tables["after"][1]["stages"].get(stage)
        lines.append(f"| {stage} | {_ms(b) if b is not None else '—'} | {_ms(a) if a is not None else '—'} |")
    lines += ["", "## Each optimisation", "",
              f"Median CPU time per step (learning off) of the commit's parent and of the commit, the lowest of "
              f"{sizes.rounds} interleaved round(s) each; the ratio is parent / commit of those. "
              "Learning on (one round each): the CPU ratio parent / commit, and the process's peak RSS "
              "(imports included) of the parent and of the commit. Instructions, parent → commit: the "
              f"deterministic counts of the `{series}` series (valgrind, one thread, ASLR off; they repeat "
              "within about 0.5 %), read from its stored results, not measured in this run; — where the "
              "series lacks either commit. `python tools/step_instructions.py PARENT COMMIT` counts a step at "
              "1 000 agents the same way.", "",
              "| commit | optimisation | parent CPU ms | commit CPU ms | parent / commit "
              "| learning on: parent / commit | learning on: peak RSS MiB, parent → commit | "
              + " | ".join(heading for heading, _, _ in INSTRUCTION_TRACKS) + " |",
              "|---|---|---|---|---|---|---|" + "---|" * len(INSTRUCTION_TRACKS)]
    if not ratios:
        lines.append("| — | no `Perf:` commit in the range | | | | | |" + " |" * len(INSTRUCTION_TRACKS))
    for sha, subject, b, a, ratio, on_b, on_a, instructions in ratios:
        what = subject.split("(", 1)[0].removeprefix("Perf:").strip()
        lines.append(f"| {sha[:10]} | {what} | {_ms(b)} | {_ms(a)} | {ratio:.2f} | "
                     f"{on_b['cpu'] / on_a['cpu']:.2f} | {on_b['peak_rss_bytes'] / 2**20:.0f} → "
                     f"{on_a['peak_rss_bytes'] / 2**20:.0f} | " + " | ".join(instructions) + " |")
    for label in ("before", "after"):
        sha, _, rows = tables[label]
        lines += ["", f"## Top-10 hotspots {label} ({sha[:10]}), by self time", "",
                  f"cProfile over the {sizes.steps} timed steps, learning off.", ""]
        lines += _hotspot_table(rows)
    lines += ["", "## Step time against the floor sum (last commit, MLP)", "",
              f"`benchmarks/bench_workload.py` at {sizes.floor_agents} agents (and {sizes.small_agents}, learning "
              f"off): {sizes.floor_run_steps} steps, then the median of {sizes.floor_timed_steps} steps "
              "and the floors of the step's parts measured in the same process (ms). Each row is the run with "
              f"the lowest step time of {sizes.rounds} interleaved round(s). The preset logs asynchronously: "
              "the sqlite part runs on the log's writer thread, on the other core, and holds the GIL only while "
              "it binds rows, so the floor of the step itself lies between the main-thread sum (every part but "
              "sqlite) and the floor sum. While it binds, the steps running meanwhile wait for the GIL: a few steps "
              "out of ten (the preset hands the log over every 10 steps), which the median mostly leaves out; the mean "
              "step and the stepping thread's mean time off its CPU per step (wall minus `time.thread_time`, "
              "bench_workload's `WorkloadLogWait`) show it.", "",
              "| agents | learning | step | mean step | off CPU per step | spatial | gather | forward | sqlite "
              "| train | floor sum | step / floor sum | main-thread floors | step / main-thread floors |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for result in (floors["off"], floors["on"], small):
        f = result["floors"]
        train = _ms(f["train"]) if "train" in f else "—"
        main_thread = main_thread_floor_seconds(result)
        lines.append(
            f"| {result['agents']} | {result['learning']} | {_ms(result['step_seconds'])} | "
            f"{_ms(result['step_mean_seconds'])} | {_ms(result['main_thread_wait_seconds'])} | {_ms(f['spatial'])} | "
            f"{_ms(f['gather'])} | {_ms(f['forward'])} | {_ms(f['sqlite'])} | {train} | "
            f"{_ms(result['floor_sum_seconds'])} | {result['step_over_floor_sum']:.2f} | {_ms(main_thread)} | "
            f"{result['step_seconds'] / main_thread:.2f} |"
        )
    mb = 2**20
    on = floors["on"]
    lines += ["", f"Peak RSS of the learning-on run: {on['peak_rss_bytes'] / mb:.0f} MB; "
              f"replay buffers allocated: {on['replay_buffer_bytes'] / mb:.0f} MB.", ""]
    lines += ["## A second run in the same database file", "",
              f"The preset at {sizes.floor_agents} agents, learning off, run twice into one file, as a user who "
              "runs it again in the same directory does (its `db_path` is `simulation.db`): each run "
              f"{sizes.floor_run_steps} steps, then the median of {sizes.floor_timed_steps} steps, both in one "
              f"process (bench_workload's `measure_rerun`); the round with the lowest second run of "
              f"{sizes.rounds} interleaved round(s). Wall ms.", "",
              "| commit | first run ms/step | second run ms/step | second / first |", "|---|---|---|---|"]
    for sha, rerun in ((base_sha, reruns[0]), (last_sha, reruns[1])):
        first, second = rerun["first_run_step_seconds"], rerun["second_run_step_seconds"]
        lines.append(f"| {sha[:10]} | {_ms(first)} | {_ms(second)} | {second / first:.2f} |")
    lines.append("")
    line = population_line(list(sizes.population_agents), [timing["cpu"] for timing in populations])
    lines += _population_section(populations, line, sizes)
    lines += _learning_on_section(plain[("after", "on")], floors["on"], profile_on, sizes)
    lines += _composition_section(compositions, sizes)
    lines += _store_section(store, sizes)
    lines += _targets_section(floors, small, line[0], import_floor, sizes, store)
    return "\n".join(lines)


def _learning_on_section(timing: dict, on: dict, profile: tuple[list, dict], sizes: Sizes) -> list[str]:
    """The last commit's learning-on step (``timing``: its :func:`time_steps` run of "Step time,
    before and after") stage by stage against the floors of the learning-on floor-sum run
    (``on``) that bound them, and the hotspots of a learning-on run under cProfile (``profile``:
    hotspots and composition)."""
    lines = [f"## Where a step goes at {sizes.floor_agents} agents, learning on (last commit)", "",
             "The last commit's learning-on run of \"Step time, before and after\" stage by stage (wall ms, the "
             "mean over its timed steps: a step trains only every `train_every` steps, so the median of a "
             "stage picks one kind of step) against the floors of the learning-on floor-sum run that bound "
             "each stage on the main thread (the train floor is amortised the same way): observe does the "
             "spatial queries and the gather, decide the forward, learn the train steps (and stores the "
             "step's transitions). The other stages have no floor measured; the log's sqlite work runs on its "
             "writer thread.", "", "| stage | wall ms | floor parts | floor ms | stage − floor ms |",
             "|---|---|---|---|---|"]
    floors, stages = on["floors"], timing["stage_means"]
    for stage, seconds in stages.items():
        parts = STAGE_FLOORS.get(stage)
        if parts:
            floor = sum(floors[part] for part in parts)
            lines.append(f"| {stage} | {_ms(seconds)} | {' + '.join(parts)} | {_ms(floor)} | {_ms(seconds - floor)} |")
        else:
            lines.append(f"| {stage} | {_ms(seconds)} | — | — | {_ms(seconds)} |")
    main_thread = main_thread_floor_seconds(on)
    lines += [f"| step | {_ms(timing['step_mean'])} | every part but sqlite | {_ms(main_thread)} | "
              f"{_ms(timing['step_mean'] - main_thread)} |", ""]
    rows, composition = profile
    lines += [f"Top-10 hotspots of the preset at {sizes.floor_agents} agents, learning on, by self time: cProfile "
              f"over {sizes.steps} steps after {sizes.warmup} warm-up steps ({composition['calls']:.0f} function "
              "calls per step).", ""]
    lines += _hotspot_table(rows)
    lines.append("")
    return lines


def _composition_section(compositions: list[tuple[int, dict, list | None]], sizes: Sizes) -> list[str]:
    """Function calls and self time per step by part of the stack at each population, and the
    hotspots at ``sizes.small_agents``."""
    lines = ["## What a step is made of against population (last commit, learning off)", "",
             f"The preset at each population of the line above (and at {sizes.small_agents}) under cProfile "
             f"({sizes.warmup} warm-up steps, then {sizes.steps} steps, one round): function calls per step "
             "(cProfile counts every Python-level call, "
             "numpy's and torch's included) and the self time per step of farm's own Python code, of numpy, of "
             "torch and of everything else (the interpreter, scipy, sqlite3). cProfile sees calls, not "
             "operators: the array arithmetic and indexing farm's functions write as operators count as "
             "their self time. Profiled times run above the plain ones; the call counts do not depend on "
             "the machine.", "",
             "| agents | calls per step | farm ms | numpy ms | torch ms | other ms | profiled ms |",
             "|---|---|---|---|---|---|---|"]
    for n, composition, _ in compositions:
        total = sum(composition[group] for group in PROFILE_GROUPS)
        lines.append(f"| {n} | {composition['calls']:.0f} | "
                     + " | ".join(_ms(composition[group]) for group in PROFILE_GROUPS) + f" | {_ms(total)} |")
    for n, _, rows in compositions:
        if rows is not None:
            lines += ["", f"Top-10 hotspots at {n} agents, learning off, by self time (the run above).", ""]
            lines += _hotspot_table(rows)
    lines.append("")
    return lines


def main_thread_floor_seconds(result: dict) -> float:
    """The floors of the parts a step runs on its own thread: every floor of ``result`` (a
    ``measure_workload`` dict) but sqlite's, which the preset's asynchronous log runs on its writer."""
    return sum(seconds for part, seconds in result["floors"].items() if part != "sqlite")


def gated(gate: hostnoise.QuietRounds | None, measure_round):
    """``measure_round()``, run by ``gate`` (between two quiet probes) where there is one."""
    return gate.run(measure_round) if gate is not None else measure_round()


def best_of_rounds(*measures, rounds: int, key: str = "cpu", gate: hostnoise.QuietRounds | None = None
                   ) -> tuple[dict, ...]:
    """Run the ``measures`` (each returning a dict: a :func:`time_steps` or
    :func:`measure_floors` result) in turn, ``rounds`` times over; for each measure, its result
    with the lowest ``key``. With a ``gate``, each round (every measure once) is :func:`gated`."""
    best: list[dict | None] = [None] * len(measures)
    for _ in range(rounds):
        for index, result in enumerate(gated(gate, lambda: [measure() for measure in measures])):
            if best[index] is None or result[key] < best[index][key]:
                best[index] = result
    return tuple(best)


def population_line(agents: list[int], values: list[float]) -> tuple[float, float]:
    """``(fixed, per_agent)``: the least-squares line ``value = fixed + per_agent * agents``."""
    slope, intercept = statistics.linear_regression(agents, values)
    return intercept, slope


def _population_section(populations: tuple[dict, ...], cpu_line: tuple[float, float], sizes: Sizes) -> list[str]:
    """Step and stage times of the last commit against the population, and the fitted lines
    (``cpu_line``: :func:`population_line` of the CPU times)."""
    agents = list(sizes.population_agents)
    stages = list(dict.fromkeys(stage for timing in populations for stage in timing["stages"]))
    lines = ["## Step time against population (last commit, learning off)", "",
             f"The preset in the sustaining world at {', '.join(map(str, agents))} agents, "
             f"{sizes.warmup} warm-up steps, then the median of {sizes.steps} steps, a fresh process each, the "
             f"lowest of {sizes.rounds} interleaved round(s) per population: CPU ms "
             "per step and each stage's wall ms. The last row is the least-squares line's value at zero "
             "agents: what a step costs whatever its population (the world-sized observation layers, "
             "one call per policy and stage).", "",
             "| agents | population after | CPU ms/step | wall ms/step | " + " | ".join(stages) + " |",
             "|" + "---|" * (4 + len(stages))]
    for n, timing in zip(agents, populations):
        lines.append(f"| {n} | {timing['population']} | {_ms(timing['cpu'])} | {_ms(timing['step'])} | "
                     + " | ".join(_ms(timing["stages"].get(stage, 0.0)) for stage in stages) + " |")
    fixed_cpu, per_agent_cpu = cpu_line
    fixed_wall, _ = population_line(agents, [timing["step"] for timing in populations])
    stage_fixed = [population_line(agents, [timing["stages"].get(stage, 0.0) for timing in populations])[0]
                   for stage in stages]
    lines.append(f"| fixed (line at 0) | | {_ms(fixed_cpu)} | {_ms(fixed_wall)} | "
                 + " | ".join(_ms(value) for value in stage_fixed) + " |")
    small = sizes.small_agents
    lines += ["", f"CPU per step = {_ms(fixed_cpu)} ms + {1e6 * per_agent_cpu:.2f} µs per agent (least squares). "
              f"At {small} agents the fixed part is {fixed_cpu / (fixed_cpu + per_agent_cpu * small):.0%} of the "
              "line's step.", ""]
    return lines


def _store_section(store: dict, sizes: Sizes) -> list[str]:
    """The learn stage at learning off (storing each type's transitions) by part: ``store`` is a
    :func:`measure_store_parts` result."""
    return [
        f"## Storing a step's transitions at {store['agents']} agents, learning off (last commit)", "",
        f"The learn stage with learning off stores each agent type's transitions in its learner's replay "
        f"({store['learners']} learners): it writes the step's frames into the replay's frame store and does the "
        "bookkeeping (each type's rows, pairing each agent's last transition with its new frame, the replay ring's "
        "columns). A frame store copies a write of 1 MiB or more on its worker thread, beside the step's later "
        "stages, and the step waits for those copies at its end (the wait counts in the learn stage). "
        f"bench_workload's `measure_store_parts`: {sizes.floor_run_steps} steps, then "
        f"{sizes.floor_timed_steps} steps timing the stage and, inside it, every frame write and the wait; then the "
        "last step's "
        f"learn stage run again {_workload_module().STORE_REPLAYS} times back to back, every learner put back in the "
        "state it started from, the frame copy left out and the log's writer idle: the same bookkeeping with its "
        "code and data in the caches. In the step it runs after observe, decide and act and between the copies, "
        f"which write the step's frames ({store['frame_bytes_per_step'] / 2**20:.1f} MiB) into memory that no cache "
        "holds. "
        f"The run with the lowest stage of {sizes.rounds} round(s); wall ms, medians over steps or runs.", "",
        "| part | ms |", "|---|---|",
        f"| learn stage | {_ms(store['learn_seconds'])} |",
        f"| frame writes on the main thread (copies, or hand-offs to the worker) | "
        f"{_ms(store['frame_copy_seconds'])} |",
        f"| waiting at the step's end for the worker's copies | {_ms(store['copy_wait_seconds'])} |",
        f"| bookkeeping (the stage less the two above) | {_ms(store['bookkeeping_seconds'])} |",
        f"| the same bookkeeping run again warm | {_ms(store['bookkeeping_warm_seconds'])} |",
        f"| the copies on the worker thread (beside the later stages, not in the stage) | "
        f"{_ms(store['worker_copy_seconds'])} |",
        f"| floor of the copies: the step's frames into replay-sized memory | {_ms(store['store_floor_seconds'])} |",
        "",
        f"The bookkeeping makes {store['bookkeeping_calls']} Python and C function calls per step (numpy's "
        "operators, indexing included, are not calls and are not counted).", "",
    ]


def _verdict(value: float, limit: float) -> str:
    return "yes" if value <= limit else "no"


def _store_floor(result: dict) -> str:
    """The floor of storing a step's transitions, from a floor-sum run of this checkout's script."""
    return (f"copying the step's frames into replay-sized memory {_ms(result['store_floor_seconds'])} ms "
            f"(stage / floor {_workload_module().record_over_store_floor(result):.2f})")


def _targets_section(floors: dict, small: dict, fixed_cpu: float, import_floor: int, sizes: Sizes,
                     store: dict) -> list[str]:
    """Issue 11's targets against this run's figures (the floor-sum runs, ``fixed_cpu``: the
    population line's CPU seconds at zero agents, and ``store``: the learn stage by part)."""
    off, on = floors["off"], floors["on"]
    many, few = sizes.floor_agents, sizes.small_agents
    mb = 2**20
    budget = import_floor + _workload_module().RSS_BUDGET_REPLAY_FACTOR * on["replay_buffer_bytes"]
    rows = [
        (f"{many} agents, learning off, ms/step", STEP_LIMIT_MS_LEARNING_OFF, 1e3 * off["step_seconds"],
         f"floor sum {_ms(off['floor_sum_seconds'])} ms, main thread {_ms(main_thread_floor_seconds(off))} ms"),
        ("same, over the floor sum", FLOOR_SUM_RATIO_LIMIT, off["step_over_floor_sum"], "—"),
        (f"{many} agents, learning on, ms/step", STEP_LIMIT_MS_LEARNING_ON, 1e3 * on["step_seconds"],
         f"floor sum {_ms(on['floor_sum_seconds'])} ms, main thread {_ms(main_thread_floor_seconds(on))} ms"),
        (f"{few} agents, learning off, ms/step", STEP_LIMIT_MS_SMALL, 1e3 * small["step_seconds"],
         f"floor sum {_ms(small['floor_sum_seconds'])} ms, main thread {_ms(main_thread_floor_seconds(small))} ms; "
         f"fixed part of a step {_ms(fixed_cpu)} ms CPU"),
        (f"storing one step's transitions (learn stage, learning off), {many} agents, ms", RECORD_LIMIT_MS,
         1e3 * off["stages"]["learn"],
         f"{_store_floor(off)}; by part: frame writes {_ms(store['frame_copy_seconds'])} ms, waiting for the "
         f"worker's copies {_ms(store['copy_wait_seconds'])} ms (its copies "
         f"{_ms(store['worker_copy_seconds'])} ms beside the step), bookkeeping "
         f"{_ms(store['bookkeeping_seconds'])} ms in the step, {_ms(store['bookkeeping_warm_seconds'])} ms warm"),
        (f"log_step of {many} agents to a file, ms", LOG_STEP_LIMIT_MS, 1e3 * off["stages"]["log_step"], "—"),
        (f"peak RSS, {many} agents, learning on, over (import floor + "
         f"{_workload_module().RSS_BUDGET_REPLAY_FACTOR} x replay buffers)", RSS_OVER_BUDGET_LIMIT,
         on["peak_hwm_bytes"] / budget,
         f"import floor {import_floor / mb:.1f} MiB, replay buffers {on['replay_buffer_bytes'] / mb:.1f} MiB, "
         f"peak {on['peak_hwm_bytes'] / mb:.1f} MiB"),
    ]
    lines = ["## Issue 11's targets in this run", "",
             "Each target of issue 11 against the figure of this run that it limits (the floor-sum runs above; "
             "wall ms, so a loaded machine reads high). The asv tracks of `benchmarks/bench_workload.py` are "
             "the history of the same figures.", "",
             "| target | limit | this run | met | floor |", "|---|---|---|---|---|"]
    for what, limit, value, floor in rows:
        lines.append(f"| {what} | ≤ {limit:g} | {value:.3f} | {_verdict(value, limit)} | {floor} |")
    lines.append("")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", help="commit before the optimisations (default: parent of the first Perf: commit)")
    parser.add_argument("--last", default="HEAD", help="last commit (default HEAD)")
    parser.add_argument("--agents", type=int, default=Sizes.agents)
    parser.add_argument("--warmup", type=int, default=Sizes.warmup)
    parser.add_argument("--steps", type=int, default=Sizes.steps)
    parser.add_argument("--rounds", type=int, default=Sizes.rounds)
    parser.add_argument("--commits", nargs="+", help="optimisation commits to measure (default: the Perf: ones)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke test, not a measurement)")
    parser.add_argument("--wait-quiet", type=float, metavar="MINUTES",
                        help="run every timed round between two quiet noise probes (the host's fast mode), running "
                             "again a round the probe after it reads slow; give up, writing nothing, after MINUTES")
    parser.add_argument("--out", default=str(REPO / "docs" / "performance.md"))
    parser.add_argument("--series", default=REFERENCE_SERIES,
                        help=f"results/ series whose instruction counts each optimisation row shows "
                             f"(default {REFERENCE_SERIES})")
    args = parser.parse_args(argv)
    if args.quick:
        sizes = QUICK
    else:
        sizes = Sizes(agents=args.agents, warmup=args.warmup, steps=args.steps, rounds=args.rounds)
    base = args.base
    if base is None:
        first = perf_commits(git("rev-list", "--max-parents=0", args.last).splitlines()[0], args.last)
        if not first:
            parser.error("no Perf: commit found; give --base")
        base = f"{first[0][0]}^"
    command = "python tools/perf_report.py " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])
    )
    gate = None
    if args.wait_quiet is not None:
        if not (math.isfinite(args.wait_quiet) and args.wait_quiet > 0):
            parser.error(f"--wait-quiet must be a positive number of minutes, got {args.wait_quiet:g}")
        gate = hostnoise.QuietRounds(time.time() + args.wait_quiet * 60.0)
    try:
        report = build_report(base, args.last, sizes, command.strip(), args.commits, gate=gate,
                              series=args.series)
    except hostnoise.NotQuiet as exc:
        print(f"stopped: {exc} ({args.wait_quiet:g} min); no report written", file=sys.stderr)
        return 4
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
