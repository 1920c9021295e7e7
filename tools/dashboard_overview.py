"""Overview page of the benchmark dashboard: the whole engine at a glance, beside asv's own UI.

asv's pages show one benchmark at a time. ``overview.html`` answers what they do not:

- one tile per engine component (spatial, observation, storage, decision, resources, simulation
  step, scalability): its headline figure over the measured commits, with the optimization commits
  annotated by their git subject;
- the scalability grid (``bench_scalability.StepScaling``: agents x world, one heatmap per density)
  at the newest measured commit, and its change against a base commit (chosen on the page);
- the complexity exponents (``bench_scalability.ComplexityExponent``) over commits;
- the regressions asv flagged (``html/regressions.json``), each with its confirmation from the
  committed ``docs/regression_confirmations.json``.

The page is built from the asv result files (``results/<machine>/*.json``) by
:func:`build_overview`, written into the published ``html/`` tree and linked from asv's
``index.html``. It is one self-contained file: inline CSS, inline SVG charts rendered here, a few
lines of inline JavaScript for the base-commit chooser. Nothing is fetched at view time, so it
opens from ``file://`` with the network off. The output depends only on the inputs (no
timestamps), so republishing unchanged results leaves ``html/`` unchanged.

Confirmations file (``docs/regression_confirmations.json``)::

    {
      "version": 1,
      "confirmations": [
        {
          "benchmark": "bench_database.CloseTime.time_close",
          "commit": "41fe08a8",
          "verdict": "drift",
          "evidence": "tools/regression_drill.py ...: 5 interleaved runs of both commits, ...",
          "machine": "agentfarm-reference"
        }
      ]
    }

- ``benchmark``: the name as on asv's regressions page, with its parameters
  (``bench_x.C.time_y(500, 'disk')``), or without them to cover every parameter combination;
- ``commit``: a prefix (7+ hex digits) of the commit asv blames, the first commit after the jump;
- ``verdict``: ``"confirmed"`` (a real slowdown, reproduced), ``"drift"`` (machine drift or noise:
  re-measured side by side, no difference) or ``"fixed"`` (a real step that a later commit undid:
  that commit re-measured side by side with the one before the step; asv's regressions page
  keeps listing a step for a commit or more after the fix);
- ``evidence``: free text, ideally the command that settled it and what it printed;
- ``machine`` (optional): the machine series it applies to; absent means every machine.

A flagged regression with no matching entry is shown as ``unconfirmed``.

Command line::

    python tools/dashboard_overview.py [--results results] [--html html] [--repo .]
                                       [--machine NAME] [--base COMMIT]

This module imports nothing from the other ``tools/`` modules.
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import html
import itertools
import json
import logging
import math
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = [
    "COMPONENTS",
    "Component",
    "Confirmation",
    "Direction",
    "Figure",
    "Verdict",
    "build_overview",
    "inject_link",
    "load_confirmations",
    "main",
]

logger = logging.getLogger(__name__)

DEFAULT_MACHINE = "agentfarm-reference"
OVERVIEW_NAME = "overview.html"
CONFIRMATIONS_FILE = Path("docs") / "regression_confirmations.json"
LINK_MARKER = "agentfarm-overview-link"
# A headline point this much better than the previous measured one is annotated as an
# optimization even when its subject does not name the component.
IMPROVEMENT_THRESHOLD = 0.10
# Changes smaller than this are drawn in grey: within the run-to-run spread of most benchmarks.
FLAT_BAND = 0.02
HASH_LENGTH = 8
ASSETS_DIR = Path(__file__).resolve().parent / "overview_assets"

SCALING_TIME = "bench_scalability.StepScaling.time_step"
SCALING_MEMORY = "bench_scalability.StepScaling.peakmem_step"
COMPLEXITY = "bench_scalability.ComplexityExponent.track_complexity_exponent"

_NaN = float("nan")
DASH = "\u2013"


class Direction(enum.Enum):
    """Which way a figure improves."""

    LOWER_IS_BETTER = "lower"
    HIGHER_IS_BETTER = "higher"


class Verdict(enum.Enum):
    """Outcome of re-measuring a flagged regression."""

    CONFIRMED = "confirmed"
    DRIFT = "drift"
    FIXED = "fixed"
    UNCONFIRMED = "unconfirmed"


@dataclasses.dataclass(frozen=True)
class Figure:
    """One value of one benchmark: a benchmark name and one combination of its parameters.

    Attributes:
        benchmark: full asv name, e.g. ``"bench_spatial.RadiusQuery.time_batched_radius"``.
        params: one value per parameter, spelled as asv stores them (strings keep their quotes:
            ``("'kdtree'", "10000")``); empty for an unparameterized benchmark.
        label: what the figure is, in words, for the page.
        direction: which way is better.
    """

    benchmark: str
    params: tuple[str, ...] = ()
    label: str = ""
    direction: Direction = Direction.LOWER_IS_BETTER

    def __post_init__(self) -> None:
        if not self.benchmark or self.benchmark.count(".") < 2:
            raise ValueError(f"benchmark must be a full asv name module.Class.method, got {self.benchmark!r}")
        if not isinstance(self.direction, Direction):
            raise TypeError(f"direction must be a Direction, got {self.direction!r}")
        object.__setattr__(self, "params", tuple(str(p) for p in self.params))


@dataclasses.dataclass(frozen=True)
class Component:
    """An engine component's tile.

    Attributes:
        key: short identifier (HTML id and test handle).
        title: heading of the tile.
        subject_prefixes: commit subjects starting with one of these (case-insensitive, followed by
            ``:``) are this component's optimization commits; ``Perf:`` counts for every component.
        headlines: candidate headline figures, in order of preference: the first with a measured
            value is drawn (a grid not measured yet falls back to the next).
        secondary: further figures listed under the chart (newest value and change against base).
    """

    key: str
    title: str
    subject_prefixes: tuple[str, ...]
    headlines: tuple[Figure, ...]
    secondary: tuple[Figure, ...] = ()

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_-]*", self.key):
            raise ValueError(f"key must be a lowercase identifier, got {self.key!r}")
        if not self.headlines:
            raise ValueError(f"component {self.key!r} needs at least one headline figure")

    def names_commit(self, subject: str) -> bool:
        """True when a commit subject says it works on this component (or on performance)."""
        words = ("Perf",) + self.subject_prefixes
        pattern = r"^\s*(?:" + "|".join(re.escape(w) for w in words) + r")\b[^:]{0,20}:"
        return re.match(pattern, subject, flags=re.IGNORECASE) is not None


_LOWER = Direction.LOWER_IS_BETTER
_HIGHER = Direction.HIGHER_IS_BETTER

COMPONENTS: tuple[Component, ...] = (
    Component(
        key="spatial",
        title="Spatial index",
        subject_prefixes=("Spatial", "KD-tree", "Quadtree", "Spatial hash", "Index", "Neighbo"),
        headlines=(
            Figure("bench_spatial.RadiusQuery.time_batched_radius", ("'kdtree'", "10000", "'uniform'", "5.0"),
                   "batched radius query, KD-tree (the default), 10 000 uniform points, r = 5"),
        ),
        secondary=(
            Figure("bench_spatial.IndexBuild.time_build", ("'kdtree'", "10000"), "KD-tree build, 10 000 points"),
            Figure("bench_spatial.PeakMemory.peakmem_build_and_radius_query", ("'kdtree'",),
                   "peak memory, build + radius query"),
        ),
    ),
    Component(
        key="observation",
        title="Observation",
        subject_prefixes=("Observation", "Observe", "Channels?"),
        headlines=(
            Figure("bench_observation.Targets.track_batched_us_per_agent", ("'spatial'",),
                   "batched build per agent, R = 5, 1 000 agents, 13 channels (target <= 3 us)"),
        ),
        secondary=(
            Figure("bench_observation.Targets.track_batched_time_over_reference", ("'spatial'",),
                   "batched / per-agent reference time (target <= 0.02)"),
            Figure("bench_observation.Targets.track_extra_memory_over_output", ("'spatial'",),
                   "extra memory over output (target <= 2)"),
        ),
    ),
    Component(
        key="storage",
        title="Database / storage",
        subject_prefixes=("Storage", "Database", "Logger", "SQLite", "Log"),
        headlines=(
            Figure("bench_database.Targets.track_log_step_ms", (),
                   "one logged step of 1 000 agents, on disk, flushes included (target <= 1.5 ms)"),
        ),
        secondary=(
            Figure("bench_database.Targets.track_logger_over_raw_executemany", (),
                   "logger rows/s over raw executemany (target >= 0.6)", _HIGHER),
            Figure("bench_database.PeakMemory.peakmem_log_and_close", ("5000",), "peak memory, batch 5 000"),
        ),
    ),
    Component(
        key="decision",
        title="Decision",
        subject_prefixes=("Decision", "DDQN", "PPO", "Policy", "Policies"),
        headlines=(
            Figure("bench_decision.TrainStepTarget.track_ddqn_train_step_ms", (),
                   "one DDQN training step, batch 64, MLP"),
        ),
        secondary=(
            Figure("bench_decision.ActLatency.track_act_us_per_agent", ("'ddqn'", "'mlp'", "1000"),
                   "DDQN act per agent, batch 1 000, MLP"),
            Figure("bench_decision.ActBatching.track_act_batch_speedup", ("'cnn'",),
                   "CNN act: batch of 1 000 over one by one", _HIGHER),
        ),
    ),
    Component(
        key="resources",
        title="Resources",
        subject_prefixes=("Resources?", "Regeneration", "Nodes?"),
        headlines=(
            Figure("bench_resources.LargeWorldRegeneration.track_regenerate_min_seconds", (),
                   "regenerate() of the 500x500 dense world (25 000 nodes), best of N"),
        ),
        secondary=(
            Figure("bench_resources.DefaultRegeneration.time_regenerate", (), "regenerate() of the default world"),
            Figure("bench_resources.Regeneration.peakmem_regenerate", ("'array'", "'probabilistic'", "100000"),
                   "peak memory, 100 000 nodes, array backend"),
        ),
    ),
    Component(
        key="simulation",
        title="Simulation step",
        subject_prefixes=("Loop", "Engine", "Simulation", "Step", "Core"),
        headlines=(
            Figure("bench_simulation.EngineSpeedTarget.track_median_step_ms", (),
                   "median step, 1 000 agents, 1 000 nodes"),
        ),
        secondary=(
            Figure("bench_simulation.FullRun.track_steps_per_second", (), "steps per second, full run", _HIGHER),
            Figure("bench_simulation.FullRun.peakmem_run", (), "peak memory, full run"),
        ),
    ),
    Component(
        key="workload",
        title="AgentFarm preset (the workload users run)",
        subject_prefixes=("agentfarm preset", "Presets?", "KNOWN_EMPTY", "Observe", "DDQN train step", "MLP forward",
                          "cells_near_groups", "Memory channels", "Storage"),
        headlines=(
            Figure("bench_workload.Workload.track_step_ms", ("1000", "'off'", "'mlp'"),
                   "one step of the preset, 1 000 agents, learning off, MLP, log on disk (target <= 9 ms)"),
        ),
        secondary=(
            Figure("bench_workload.Workload.track_step_ms", ("1000", "'on'", "'mlp'"),
                   "same, learning on (train every 2 steps, batch 64; target <= 12 ms)"),
            Figure("bench_workload.Workload.track_step_ms", ("100", "'off'", "'mlp'"),
                   "100 agents, learning off (target <= 1.2 ms)"),
            Figure("bench_workload.Workload.track_step_over_floor_sum", ("1000", "'off'", "'mlp'"),
                   "step time over the sum of its parts' floors, same run (target <= 1.5)"),
            Figure("bench_workload.Workload.track_peak_rss_over_budget", ("1000", "'off'", "'mlp'"),
                   "peak RSS over (import floor + 1.3 x replay bytes), 1 000 agents, DDQN (target <= 1)"),
            Figure("bench_workload.WorkloadRecord.track_record_ms", ("1000",),
                   "storing one step's transitions, 1 000 agents (target <= 1 ms)"),
            Figure("bench_workload.Workload.track_peak_rss_mb", ("1000", "'off'", "'mlp'"),
                   "peak RSS in MiB, 1 000 agents, DDQN"),
            Figure("bench_workload.WorkloadRerun.track_second_run_step_ms", (),
                   "one step of a second run logged into the same file, 1 000 agents, learning off"),
        ),
    ),
    Component(
        key="scalability",
        title="Scalability",
        subject_prefixes=("Loop", "Engine", "Simulation", "Scalab", "Perf"),
        headlines=(
            Figure(SCALING_TIME, ("1000", "'500x500'", "'dense'"),
                   "one step at the grid's largest point: 1 000 agents, 500x500, dense"),
            Figure(COMPLEXITY, ("'step'",),
                   "complexity exponent of the whole step (grid not measured yet; 1.0 = linear)"),
        ),
        secondary=(
            Figure(SCALING_MEMORY, ("1000", "'500x500'", "'dense'"), "peak memory, 1 000 agents, 500x500, dense"),
            Figure(COMPLEXITY, ("'step'",), "complexity exponent of the step (1.0 = linear)"),
        ),
    ),
)


# --------------------------------------------------------------------------------------------
# Inputs: result files, commits, regressions, confirmations


@dataclasses.dataclass(frozen=True)
class Confirmation:
    """One entry of ``docs/regression_confirmations.json`` (schema in the module docstring)."""

    benchmark: str
    commit: str
    verdict: Verdict
    evidence: str
    machine: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.benchmark, str) or self.benchmark.count(".") < 2:
            raise ValueError(f"benchmark must be a full asv name, got {self.benchmark!r}")
        if not isinstance(self.commit, str) or not re.fullmatch(r"[0-9a-fA-F]{7,40}", self.commit):
            raise ValueError(f"commit must be 7 to 40 hex digits, got {self.commit!r}")
        if not isinstance(self.verdict, Verdict) or self.verdict is Verdict.UNCONFIRMED:
            raise ValueError(f"verdict must be 'confirmed', 'drift' or 'fixed', got {self.verdict!r}")
        if not isinstance(self.evidence, str) or not self.evidence.strip():
            raise ValueError(f"evidence must be non-empty text, got {self.evidence!r}")
        if self.machine is not None and not isinstance(self.machine, str):
            raise ValueError(f"machine must be a string, got {self.machine!r}")

    def matches(self, name: str, commit: str, machine: str) -> bool:
        """True when this entry settles regression ``name`` blamed on ``commit`` (full hash)."""
        base = name.split("(", 1)[0]
        return (
            self.benchmark in (name, base)
            and commit.lower().startswith(self.commit.lower())
            and (self.machine is None or self.machine == machine)
        )


def load_confirmations(path: Path) -> list[Confirmation]:
    """Read and validate a confirmations file.

    Args:
        path: the JSON file; a missing file means no confirmations.

    Returns:
        The entries, in file order.

    Raises:
        ValueError: the file is not the documented schema (the message names the bad entry).
    """
    if not path.exists():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("confirmations"), list):
        raise ValueError(f"{path}: expected an object with a 'confirmations' list")
    entries = []
    for i, raw in enumerate(data["confirmations"]):
        if not isinstance(raw, dict):
            raise ValueError(f"{path}: confirmations[{i}] is not an object: {raw!r}")
        unknown = set(raw) - {"benchmark", "commit", "verdict", "evidence", "machine"}
        if unknown:
            raise ValueError(f"{path}: confirmations[{i}] has unknown keys {sorted(unknown)}")
        try:
            verdict = Verdict(raw.get("verdict"))
            entries.append(Confirmation(
                benchmark=raw.get("benchmark"), commit=raw.get("commit"), verdict=verdict,
                evidence=raw.get("evidence"), machine=raw.get("machine"),
            ))
        except ValueError as err:
            raise ValueError(f"{path}: confirmations[{i}]: {err}") from None
    return entries


@dataclasses.dataclass
class Series:
    """The measured history of one machine.

    Attributes:
        machine: the machine name (``results/<machine>/``).
        commits: full hashes of the measured commits, oldest first.
        values: benchmark -> commit -> parameter combination -> value (NaN: skipped or failed).
        result_files: how many result files were read.
    """

    machine: str
    commits: list[str]
    values: dict[str, dict[str, dict[tuple[str, ...], float]]]
    result_files: int

    def value(self, figure: Figure, commit: str) -> float:
        """The figure's value at ``commit``; NaN when not measured."""
        return self.values.get(figure.benchmark, {}).get(commit, {}).get(figure.params, _NaN)

    def history(self, figure: Figure) -> list[float]:
        """The figure at every measured commit, oldest first (NaN where not measured)."""
        return [self.value(figure, c) for c in self.commits]

    def measured(self, benchmark: str) -> list[str]:
        """Commits (oldest first) with at least one finite value of ``benchmark``."""
        per_commit = self.values.get(benchmark, {})
        return [c for c in self.commits if any(math.isfinite(v) for v in per_commit.get(c, {}).values())]


def list_machines(results_dir: Path) -> list[str]:
    """Machine names with a ``machine.json`` or result files under ``results_dir``, sorted."""
    if not results_dir.is_dir():
        return []
    return sorted(
        p.name for p in results_dir.iterdir()
        if p.is_dir() and ((p / "machine.json").exists() or any(p.glob("*-*.json")))
    )


def _as_float(v: object) -> float:
    try:
        return float(v) if v is not None else _NaN
    except (TypeError, ValueError):
        return _NaN


def load_series(results_dir: Path, machine: str, benchmarks: Mapping[str, dict]) -> tuple[Series, dict[str, int]]:
    """Read every result file of one machine.

    A benchmark result whose recorded version differs from ``benchmarks.json`` is dropped, as asv
    publish drops it (a changed benchmark starts a new history).

    Args:
        results_dir: the asv results directory.
        machine: the machine subdirectory.
        benchmarks: the content of ``results_dir/benchmarks.json``.

    Returns:
        The series (commits in result-date order; :func:`order_commits` puts them in git order) and
        each commit's date (ms since the epoch) from its result file.
    """
    values: dict[str, dict[str, dict[tuple[str, ...], float]]] = {}
    dates: dict[str, int] = {}
    files = sorted(p for p in (results_dir / machine).glob("*.json") if p.name != "machine.json")
    for path in files:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != 2 or "commit_hash" not in data:
            logger.warning("skipping %s: not an asv result file of format version 2", path)
            continue
        commit = data["commit_hash"]
        dates[commit] = int(data.get("date") or 0)
        columns = data.get("result_columns", [])
        for name, row in data.get("results", {}).items():
            meta = benchmarks.get(name)
            entry = dict(zip(columns, row))
            if meta is None or entry.get("result") is None:
                continue
            if entry.get("version") is not None and meta.get("version") is not None \
                    and str(entry["version"]) != str(meta["version"]):
                continue
            params = entry.get("params") or []
            combos = list(itertools.product(*params)) if params else [()]
            per_combo = values.setdefault(name, {}).setdefault(commit, {})
            for combo, v in zip(combos, entry["result"]):
                per_combo[tuple(str(p) for p in combo)] = _as_float(v)
    commits = sorted(dates, key=lambda c: (dates[c], c))
    return Series(machine=machine, commits=commits, values=values, result_files=len(files)), dates


def _git(repo_root: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(repo_root), *args], check=False, capture_output=True, text=True,
                             timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout if out.returncode == 0 else None


def git_history(repo_root: Path) -> tuple[list[str], dict[str, str]]:
    """First-parent history of ``main`` (``HEAD`` without a main branch) and commit subjects.

    Returns:
        The first-parent hashes, oldest first, and hash -> subject for them; both empty when
        ``repo_root`` is not a git repository.
    """
    ref = "main" if _git(repo_root, "rev-parse", "--verify", "-q", "main") else "HEAD"
    out = _git(repo_root, "log", "--first-parent", "--format=%H%x1f%s", ref)
    if not out:
        return [], {}
    pairs = [line.split("\x1f", 1) for line in out.splitlines() if "\x1f" in line]
    return [h for h, _ in reversed(pairs)], {h: s for h, s in pairs}


def order_commits(series: Series, dates: Mapping[str, int], repo_root: Path,
                  index: Mapping[str, object]) -> dict[str, str]:
    """Put ``series.commits`` in history order and return the subjects of the measured commits.

    The order comes from git's first-parent history when it holds every measured commit, else from
    asv's ``index.json`` revision numbers when they do, else from the result files' commit dates.

    Args:
        series: the series to reorder in place.
        dates: commit -> date from the result files.
        repo_root: the git checkout (subjects come from it).
        index: the published ``index.json`` (may be empty).

    Returns:
        Commit -> subject ("" where git does not know the commit).
    """
    history, subjects = git_history(repo_root)
    position = {h: i for i, h in enumerate(history)}
    revisions = {str(h): int(r) for r, h in dict(index.get("revision_to_hash", {})).items()}
    if series.commits and all(c in position for c in series.commits):
        series.commits.sort(key=position.__getitem__)
    elif series.commits and all(c in revisions for c in series.commits):
        series.commits.sort(key=revisions.__getitem__)
    else:
        series.commits.sort(key=lambda c: (dates.get(c, 0), c))
    for commit in series.commits:
        if commit not in subjects:
            out = _git(repo_root, "show", "-s", "--format=%s", commit)
            subjects[commit] = out.strip() if out else ""
    return {c: subjects[c] for c in series.commits}


@dataclasses.dataclass(frozen=True)
class Regression:
    """One jump of asv's regressions list, with its confirmation."""

    name: str
    unit: str
    before_commit: str
    commit: str
    before: float
    after: float
    verdict: Verdict
    evidence: str


def load_regressions(html_dir: Path, machine: str, index: Mapping[str, object],
                     benchmarks: Mapping[str, dict], confirmations: Sequence[Confirmation]) -> list[Regression] | None:
    """The regressions asv published for ``machine``, each with its confirmation.

    Returns:
        The regressions (worst ratio first), or None when ``regressions.json`` is not published.
    """
    path = html_dir / "regressions.json"
    if not path.exists():
        return None
    rev_to_hash = {str(r): str(h) for r, h in dict(index.get("revision_to_hash", {})).items()}
    found = []
    for entry in json.loads(path.read_text(encoding="utf-8")).get("regressions", []):
        name, graph_path, _params, _idx, _last, _best, jumps = entry[:7]
        if f"/machine-{machine}/" not in f"/{graph_path}":
            continue
        unit = benchmarks.get(name.split("(", 1)[0], {}).get("unit", "")
        for before_rev, after_rev, before, after in jumps:
            commit = rev_to_hash.get(str(after_rev), str(after_rev))
            match = next((c for c in confirmations if c.matches(name, commit, machine)), None)
            found.append(Regression(
                name=name, unit=unit,
                before_commit="" if before_rev is None else rev_to_hash.get(str(before_rev), str(before_rev)),
                commit=commit, before=_as_float(before), after=_as_float(after),
                verdict=match.verdict if match else Verdict.UNCONFIRMED,
                evidence=match.evidence if match else "",
            ))
    found.sort(key=lambda r: (-(r.after / r.before if r.before else 0.0), r.name))
    return found


# --------------------------------------------------------------------------------------------
# Formatting and charts

_SI_TIME = ((1.0, "s"), (1e-3, "ms"), (1e-6, "\u00b5s"), (1e-9, "ns"))
_BINARY = ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB"), (1, "B"))


def _sig(v: float, digits: int = 3) -> str:
    if v == 0 or not math.isfinite(v):
        return f"{v:g}"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(v))))
    return f"{v:,.{decimals}f}"


def fmt_value(v: float, unit: str) -> str:
    """A value with its unit, three significant digits; seconds and bytes scaled to fit."""
    if not math.isfinite(v):
        return "\u2013"
    if unit == "seconds":
        scale, name = next(((s, n) for s, n in _SI_TIME if abs(v) >= s), _SI_TIME[-1])
        return f"{_sig(v / scale)} {name}"
    if unit == "bytes":
        scale, name = next(((s, n) for s, n in _BINARY if abs(v) >= s), _BINARY[-1])
        return f"{_sig(v / scale)} {name}"
    unit = {"us": "\u00b5s", "ratio": "\u00d7", "exponent": ""}.get(unit, unit)
    return f"{_sig(v)} {unit}".rstrip() if unit != "\u00d7" else f"{_sig(v)}\u00d7"


def fmt_change(change: float) -> str:
    """A relative change as a signed percentage (``+12.3 %``, ``\u22124.0 %``)."""
    if not math.isfinite(change):
        return "\u2013"
    sign = "+" if change >= 0 else "\u2212"
    return f"{sign}{abs(change) * 100:.1f} %"


def change_class(change: float, direction: Direction) -> str:
    """CSS class of a change: ``good``, ``bad`` or ``flat`` (within :data:`FLAT_BAND`)."""
    if not math.isfinite(change) or abs(change) < FLAT_BAND:
        return "flat"
    better = change < 0 if direction is Direction.LOWER_IS_BETTER else change > 0
    return "good" if better else "bad"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def short(commit: str) -> str:
    """The short hash shown on the page (asv's ``hash_length``)."""
    return commit[:HASH_LENGTH]


def _label(param: str) -> str:
    return param[1:-1] if len(param) >= 2 and param[0] == param[-1] and param[0] in "'\"" else param


@dataclasses.dataclass(frozen=True)
class Line:
    """One series of a line chart: values at the chart's x positions (NaN: no point)."""

    name: str
    color: str
    values: tuple[float, ...]
    width: float = 2.0


def nice_ticks(lo: float, hi: float, count: int = 3) -> tuple[list[float], float]:
    """Round tick values inside ``[lo, hi]``: steps of 1, 2, 2.5 or 5 times a power of ten.

    Returns:
        The ticks (ascending) and the step between them.
    """
    for n in range(max(1, count), max(1, count) + 4):  # more steps until at least `count` ticks fit
        raw = (hi - lo) / n
        magnitude = 10.0 ** math.floor(math.log10(raw))
        step = next(m * magnitude for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * magnitude >= raw * (1 - 1e-9))
        ticks, k = [], math.ceil(lo / step - 1e-9)
        while k * step <= hi + step * 1e-9:
            ticks.append(k * step)
            k += 1
        if len(ticks) >= count:
            break
    return ticks, step


def _axis_label(v: float, unit: str, step: float) -> str:
    """A tick label: seconds and bytes with their scaled unit, anything else as a bare number with
    as many decimals as the tick step needs."""
    if unit in ("seconds", "bytes"):
        return fmt_value(v, unit)
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) if step < 1 else 0
    if abs(step * 10**decimals - round(step * 10**decimals)) > 1e-6:  # a step of 2.5 x 10^k
        decimals += 1
    text = f"{v:,.{decimals}f}"
    return "0" if text.strip("-0.,") == "" else text


def line_chart(lines: Sequence[Line], tips: Sequence[str], unit: str, *, width: int = 340, height: int = 120,
               marks: Mapping[int, tuple[int, bool]] | None = None, reference: float | None = None,
               x_labels: int = 2) -> str:
    """An inline SVG line chart over the measured commits.

    Args:
        lines: the series; each has one value per x position (``len(tips)``).
        tips: the hover text of each x position (commit and subject).
        unit: the values' unit, for the axis labels.
        width: viewBox width; the chart scales to its container.
        height: viewBox height.
        marks: x position -> (annotation number, named): numbered markers on the first line, orange
            for a commit whose subject names the component, green for an improvement only.
        reference: a y value drawn as a dashed line (e.g. 1.0 for a linear exponent).
        x_labels: at most this many commits labelled under the x axis (the first and the last
            always).

    Returns:
        The ``<svg>`` element.
    """
    n = len(tips)
    left, right, top, bottom = 60, 8, 14, 20
    finite = [v for line in lines for v in line.values if math.isfinite(v)]
    if reference is not None:
        finite.append(reference)
    lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
    if hi - lo < 1e-12 * max(1.0, abs(hi)):
        lo, hi = lo - max(abs(lo) * 0.05, 1e-12), hi + max(abs(hi) * 0.05, 1e-12)
    pad = (hi - lo) * 0.12
    lo, hi = lo - pad, hi + pad
    plot_w, plot_h = width - left - right, height - top - bottom

    inset = 10  # keeps the first and last points clear of the axis labels

    def x(i: int) -> float:
        return left + (plot_w / 2 if n <= 1 else inset + (plot_w - 2 * inset) * i / (n - 1))

    def y(v: float) -> float:
        return top + plot_h * (hi - v) / (hi - lo)

    out = [f'<svg viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg" role="img" class="chart">']
    ticks, step = nice_ticks(lo, hi)
    for v in ticks:
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#eef0f3"/>')
        out.append(f'<text x="{left - 5}" y="{y(v) + 4:.1f}" font-size="12" text-anchor="end" '
                   f'fill="#667085">{_e(_axis_label(v, unit, step))}</text>')
    if reference is not None:
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y(reference):.1f}" y2="{y(reference):.1f}" '
                   f'stroke="#98a2b3" stroke-dasharray="4 3"/>')
    for i in range(n):
        out.append(f'<line x1="{x(i):.1f}" x2="{x(i):.1f}" y1="{height - bottom}" y2="{height - bottom + 3}" '
                   f'stroke="#c0c6d0"/>')
    every = max(1, math.ceil((n - 1) / max(1, x_labels - 1))) if n > 1 else 1
    labelled = sorted({*range(0, n, every), n - 1} - {-1})
    if len(labelled) > 1 and labelled[-1] - labelled[-2] < every / 2:
        labelled.pop(-2)  # too close to the last label
    for i in labelled:
        anchor = "start" if i == 0 and n > 1 else ("end" if i == n - 1 and n > 1 else "middle")
        out.append(f'<text x="{x(i) - 8 if anchor == "start" else x(i) + 8 if anchor == "end" else x(i):.1f}" '
                   f'y="{height - 3}" font-size="12" text-anchor="{anchor}" fill="#667085">'
                   f'{_e(tips[i].split(" ", 1)[0])}</text>')
    for line in lines:
        segment: list[str] = []
        segments = []
        for i, v in enumerate(line.values):
            if math.isfinite(v):
                segment.append(f"{x(i):.1f},{y(v):.1f}")
            elif segment:
                segments.append(segment)
                segment = []
        if segment:
            segments.append(segment)
        for seg in segments:
            out.append(f'<polyline points="{" ".join(seg)}" fill="none" stroke="{line.color}" '
                       f'stroke-width="{line.width}" stroke-linejoin="round"/>')
        for i, v in enumerate(line.values):
            if math.isfinite(v):
                out.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="2.6" fill="{line.color}" class="pt">'
                           f'<title>{_e(line.name + ": " if len(lines) > 1 else "")}{_e(fmt_value(v, unit))} '
                           f'at {_e(tips[i])}</title></circle>')
    if marks and lines:
        values = lines[0].values
        for i, (number, named) in sorted(marks.items()):
            if not math.isfinite(values[i]):
                continue
            cy = y(values[i]) - 12 if y(values[i]) - 12 > top else y(values[i]) + 12
            out.append(f'<g class="mark"><title>{_e(tips[i])}</title>'
                       f'<circle cx="{x(i):.1f}" cy="{cy:.1f}" r="7.5" fill="{"#f79009" if named else "#12b76a"}"/>'
                       f'<text x="{x(i):.1f}" y="{cy + 3.6:.1f}" font-size="10" font-weight="600" '
                       f'text-anchor="middle" fill="#fff">{number}</text></g>')
    out.append("</svg>")
    return "".join(out)


# --------------------------------------------------------------------------------------------
# Page sections


@dataclasses.dataclass(frozen=True)
class _Context:
    series: Series
    subjects: Mapping[str, str]
    benchmarks: Mapping[str, dict]
    base: str | None

    def tip(self, commit: str) -> str:
        return f"{short(commit)} {self.subjects.get(commit, '')}".strip()

    def unit(self, benchmark: str) -> str:
        return self.benchmarks.get(benchmark, {}).get("unit", "")

    def asv_link(self, figure: Figure) -> str:
        names = self.benchmarks.get(figure.benchmark, {}).get("param_names", [])
        query = [f"machine={self.series.machine}"]
        query += [f"p-{n}={_label(p)}" for n, p in zip(names, figure.params)]
        return "index.html#" + figure.benchmark + "?" + "&".join(query)


def _change(values: Sequence[float], commits: Sequence[str], base: str | None) -> tuple[float, str | None]:
    """Newest finite value over the base's (or the oldest finite one's) - 1, and that base."""
    finite = [(c, v) for c, v in zip(commits, values) if math.isfinite(v)]
    if len(finite) < 1:
        return _NaN, None
    ref = next(((c, v) for c, v in finite if c == base), None) if base else None
    ref = ref or finite[0]
    head = finite[-1]
    if ref[0] == head[0] or ref[1] == 0:
        return _NaN, ref[0]
    return head[1] / ref[1] - 1.0, ref[0]


def annotations(component: Component, figure: Figure, ctx: _Context) -> list[tuple[int, str, float, bool]]:
    """The optimization commits of a tile: (x position, commit, change against the previous point,
    whether the subject names the component).

    A measured commit is annotated when its subject names the component (or starts with ``Perf:``),
    or when the headline improved by more than :data:`IMPROVEMENT_THRESHOLD` against the previous
    measured point.
    """
    values = ctx.series.history(figure)
    found = []
    previous = _NaN
    for i, (commit, v) in enumerate(zip(ctx.series.commits, values)):
        change = v / previous - 1.0 if math.isfinite(v) and math.isfinite(previous) and previous else _NaN
        improved = change_class(change, figure.direction) == "good" and abs(change) > IMPROVEMENT_THRESHOLD
        named = component.names_commit(ctx.subjects.get(commit, ""))
        if math.isfinite(v) and (named or improved):
            found.append((i, commit, change, named))
        if math.isfinite(v):
            previous = v
    return found


def render_tile(component: Component, ctx: _Context) -> str:
    """One component's tile: headline chart, annotated commits, secondary figures."""
    series = ctx.series
    figure = next((f for f in component.headlines if series.measured(f.benchmark)
                   and any(math.isfinite(v) for v in series.history(f))), None)
    parts = [f'<article class="tile" id="tile-{component.key}" data-component="{component.key}">']
    if figure is None:
        wanted = component.headlines[0]
        parts.append(f'<h3><span>{_e(component.title)}</span></h3>'
                     f'<div class="what">{_e(wanted.label)}</div>'
                     f'<div class="nodata">not measured yet on {_e(series.machine)}</div></article>')
        return "".join(parts)
    unit = ctx.unit(figure.benchmark)
    values = series.history(figure)
    head_i = max(i for i, v in enumerate(values) if math.isfinite(v))
    change, ref = _change(values, series.commits, ctx.base)
    notes = annotations(component, figure, ctx)
    marks = {i: (n, named) for n, (i, _, _, named) in enumerate(notes, start=1)}
    tips = [ctx.tip(c) for c in series.commits]
    parts.append(
        f'<h3><span>{_e(component.title)}</span>'
        f'<a class="asv" href="{_e(ctx.asv_link(figure))}" title="{_e(figure.benchmark)}">asv graph \u2197</a></h3>'
        f'<div class="what" title="{_e(figure.benchmark)}">{_e(figure.label)}</div>'
        f'<div class="figure"><span class="value" data-benchmark="{_e(figure.benchmark)}" '
        f'data-params="{_e(json.dumps(list(figure.params)))}" data-commit="{series.commits[head_i]}" '
        f'data-raw="{values[head_i]!r}">{_e(fmt_value(values[head_i], unit))}</span>'
        f'<span class="delta {change_class(change, figure.direction)}">{_e(fmt_change(change))}'
        f'<span class="vs"> vs {_e(short(ref) if ref else DASH)}</span></span></div>'
    )
    parts.append(line_chart([Line(figure.label, "#2a6fdb", tuple(values))], tips, unit, marks=marks))
    if notes:
        parts.append('<ul class="notes">')
        for n, (_i, commit, step, named) in enumerate(notes, start=1):
            subject = ctx.subjects.get(commit, "")
            step_txt = f' <span class="delta {change_class(step, figure.direction)}">{_e(fmt_change(step))}</span>' \
                if math.isfinite(step) else ""
            parts.append(f'<li title="{_e(ctx.tip(commit))}"><span class="num{"" if named else " moved"}">{n}</span>'
                         f'<code>{short(commit)}</code>{step_txt}<span class="subj">{_e(subject)}</span></li>')
        parts.append("</ul>")
    rows = []
    for extra in component.secondary:
        if (extra.benchmark, extra.params) == (figure.benchmark, figure.params):
            continue
        ev = series.history(extra)
        finite = [v for v in ev if math.isfinite(v)]
        if not finite:
            rows.append(f'<tr><td>{_e(extra.label)}</td><td class="v">not measured yet</td><td></td></tr>')
            continue
        ch, _ = _change(ev, series.commits, ctx.base)
        rows.append(f'<tr><td title="{_e(extra.benchmark)}">{_e(extra.label)}</td>'
                    f'<td class="v">{_e(fmt_value(finite[-1], ctx.unit(extra.benchmark)))}</td>'
                    f'<td class="v"><span class="delta {change_class(ch, extra.direction)}">{_e(fmt_change(ch))}'
                    f'</span></td></tr>')
    if rows:
        parts.append('<table class="secondary">' + "".join(rows) + "</table>")
    parts.append("</article>")
    return "".join(parts)


def _mix(c0: tuple[int, int, int], c1: tuple[int, int, int], t: float) -> str:
    t = min(1.0, max(0.0, t))
    return "#" + "".join(f"{round(a + (b - a) * t):02x}" for a, b in zip(c0, c1))


def _sequential(t: float) -> tuple[str, str]:
    """Background and text colour of a heatmap cell at ``t`` in [0, 1] (light to dark blue)."""
    stops = ((239, 246, 255), (107, 174, 214), (8, 48, 107))
    bg = _mix(stops[0], stops[1], t * 2) if t < 0.5 else _mix(stops[1], stops[2], (t - 0.5) * 2)
    return bg, "#ffffff" if t > 0.55 else "#1d2430"


def _diverging(change: float) -> tuple[str, str]:
    """Colours of a change cell: green faster/smaller, red slower/larger, saturating at +-50 %."""
    t = min(1.0, abs(math.log2(1.0 + change)) / math.log2(1.5)) if change > -1 else 1.0
    if abs(change) < FLAT_BAND:
        return "#f8f9fb", "#667085"
    end = (22, 130, 62) if change < 0 else (196, 40, 28)
    return _mix((248, 249, 251), end, 0.15 + 0.85 * t), "#ffffff" if t > 0.6 else "#1d2430"


@dataclasses.dataclass(frozen=True)
class GridAxes:
    """The axes of the StepScaling grid as asv stores its parameters."""

    agents: tuple[str, ...]
    worlds: tuple[str, ...]
    densities: tuple[str, ...]
    order: tuple[int, int, int]  # position of (agents, world, density) in the parameter tuple

    def key(self, agents: str, world: str, density: str) -> tuple[str, ...]:
        """The parameter tuple of one grid point."""
        slots = [""] * 3
        for pos, value in zip(self.order, (agents, world, density)):
            slots[pos] = value
        return tuple(slots)


def grid_axes(benchmarks: Mapping[str, dict]) -> GridAxes | None:
    """The grid's axes from ``benchmarks.json``; None when StepScaling is not in the suite."""
    meta = benchmarks.get(SCALING_TIME)
    if meta is None:
        return None
    names = list(meta.get("param_names", []))
    if sorted(names) != ["agents", "density", "world"]:
        return None
    order = tuple(names.index(n) for n in ("agents", "world", "density"))
    params = meta["params"]
    return GridAxes(tuple(params[order[0]]), tuple(params[order[1]]), tuple(params[order[2]]), order)


def _heat_table(axes: GridAxes, density: str, cell) -> str:
    rows = [f'<table class="heat" data-density="{_e(_label(density))}"><caption>{_e(_label(density))}</caption>'
            '<tr><th>agents \\ world</th>' + "".join(f"<th>{_e(_label(w))}</th>" for w in axes.worlds) + "</tr>"]
    for a in axes.agents:
        rows.append(f"<tr><th>{_e(_label(a))}</th>" + "".join(cell(a, w, density) for w in axes.worlds) + "</tr>")
    rows.append("</table>")
    return "".join(rows)


def render_grid(ctx: _Context) -> tuple[str, dict]:
    """The scalability-grid section and the data its base chooser needs."""
    series = ctx.series
    axes = grid_axes(ctx.benchmarks)
    head = [('<section id="grid"><h2>Scalability grid</h2>'
             '<p class="lead">One <code>step()</code> of <code>bench_scalability.StepScaling</code> at every agents x '
             'world point, one table per resource density: the newest measured commit, then its change against a base '
             'commit (green: faster or smaller, red: slower or larger).</p>')]
    if axes is None:
        return "".join(head) + '<div class="notyet">StepScaling is not in this suite.</div></section>', {}
    measured = {b: series.measured(b) for b in (SCALING_TIME, SCALING_MEMORY)}
    if not any(measured.values()):
        n = len(axes.agents) * len(axes.worlds) * len(axes.densities)
        return "".join(head) + (
            '<div class="notyet" id="grid-not-measured"><strong>Not measured yet.</strong> '
            f'None of the {n} grid points '
            f'has a result on <code>{_e(series.machine)}</code> at any of its {len(series.commits)} measured commits. '
            f'Measure them with <code>asv run --bench "bench_scalability.StepScaling" ...</code>, then publish.</div>'
            '</section>'), {}
    bases_all: list[str] = []
    body = []
    for bench, title in ((SCALING_TIME, "Step time"), (SCALING_MEMORY, "Peak memory")):
        commits = measured[bench]
        if not commits:
            body.append(f'<h3>{title}</h3><div class="notyet">{_e(bench)}: not measured yet.</div>')
            continue
        unit = ctx.unit(bench)
        newest = commits[-1]
        per = series.values[bench]
        finite = [v for v in per[newest].values() if math.isfinite(v) and v > 0]
        lo, hi = (math.log(min(finite)), math.log(max(finite))) if finite else (0.0, 1.0)

        def head_cell(a: str, w: str, d: str, per=per, newest=newest, unit=unit, lo=lo, hi=hi) -> str:
            v = per[newest].get(axes.key(a, w, d), _NaN)
            if not (math.isfinite(v) and v > 0):
                return '<td class="na">\u2013</td>'
            bg, fg = _sequential((math.log(v) - lo) / (hi - lo) if hi > lo else 0.5)
            return (f'<td style="background:{bg};color:{fg}" data-raw="{v!r}" '
                    f'title="{_e(_label(a))} agents, {_e(_label(w))}, {_e(_label(d))}">{_e(fmt_value(v, unit))}</td>')

        body.append(f'<h3>{title} at {short(newest)} <span class="what">{_e(ctx.subjects.get(newest, ""))}</span></h3>'
                    f'<div class="heatrow" data-metric="{_e(bench)}">'
                    + "".join(_heat_table(axes, d, head_cell) for d in axes.densities) + "</div>")
        for c in commits:
            if c not in bases_all and c != newest:
                bases_all.append(c)
    order = {c: i for i, c in enumerate(series.commits)}
    bases_all.sort(key=order.__getitem__)
    default = ctx.base if ctx.base in bases_all else (bases_all[0] if bases_all else None)
    changes = ['<h3>Change against a base commit</h3><div class="controls" id="base-control">']
    if default is None:
        changes.append('</div><div class="notyet">Only one commit has grid results: nothing to compare yet.</div>')
    else:
        changes.append(f'Base commit: <code>{short(default)}</code></div>')
        for base in bases_all:
            block = [f'<div class="base-block" data-base="{base}"{"" if base == default else " hidden"}>']
            for bench, title in ((SCALING_TIME, "Step time"), (SCALING_MEMORY, "Peak memory")):
                commits = measured[bench]
                if not commits or base not in commits:
                    block.append(f'<div class="what">{title}: no result at {short(base)}.</div>')
                    continue
                per, newest = series.values[bench], commits[-1]

                def change_cell(a: str, w: str, d: str, per=per, newest=newest, base=base) -> str:
                    key = axes.key(a, w, d)
                    v, b = per[newest].get(key, _NaN), per.get(base, {}).get(key, _NaN)
                    if not (math.isfinite(v) and math.isfinite(b) and b > 0):
                        return '<td class="na">\u2013</td>'
                    ch = v / b - 1.0
                    bg, fg = _diverging(ch)
                    return (f'<td style="background:{bg};color:{fg}" data-change="{ch!r}" '
                            f'title="{_e(_label(a))} agents, {_e(_label(w))}, {_e(_label(d))}">'
                            f'{_e(fmt_change(ch))}</td>')

                block.append(f'<div class="what">{title}: {short(newest)} against {short(base)} '
                             f'{_e(ctx.subjects.get(base, ""))}</div><div class="heatrow">'
                             + "".join(_heat_table(axes, d, change_cell) for d in axes.densities) + "</div>")
            block.append("</div>")
            changes.append("".join(block))
    data = {"bases": [{"sha": c, "label": ctx.tip(c)[:90]} for c in bases_all], "defaultBase": default}
    return "".join(head) + '<div class="card">' + "".join(body) + "".join(changes) + "</div></section>", data


_PALETTE = ("#2a6fdb", "#e8590c", "#2f9e44", "#ae3ec9", "#f08c00", "#0c8599", "#1d2430")


def render_complexity(ctx: _Context) -> str:
    """Complexity exponents of each stage over commits: chart and newest values."""
    series = ctx.series
    meta = ctx.benchmarks.get(COMPLEXITY)
    out = [('<section id="complexity"><h2>Complexity exponents</h2>'
            '<p class="lead">Log-log slope of per-step time against agent count '
            '(<code>bench_scalability.ComplexityExponent</code>): 1.0 is linear (dashed), 2.0 quadratic.</p>')]
    if meta is None or not series.measured(COMPLEXITY):
        return "".join(out) + '<div class="notyet">Not measured yet.</div></section>'
    stages = list(itertools.product(*meta["params"]))
    tips = [ctx.tip(c) for c in series.commits]
    lines = [Line(_label(s[0]), _PALETTE[i % len(_PALETTE)],
                  tuple(series.history(Figure(COMPLEXITY, s))), 3.0 if _label(s[0]) == "step" else 1.6)
             for i, s in enumerate(stages)]
    chart = line_chart(lines, tips, "exponent", width=760, height=240, reference=1.0, x_labels=8)
    legend = "".join(
        f'<span><span class="sw" style="background:{ln.color}"></span>{_e(ln.name)}</span>' for ln in lines
    )
    rows = []
    for s, ln in zip(stages, lines):
        finite = [v for v in ln.values if math.isfinite(v)]
        ch, _ = _change(ln.values, series.commits, ctx.base)
        rows.append(f'<tr data-stage="{_e(ln.name)}"><td><span class="sw" style="background:{ln.color}"></span>'
                    f'{_e(ln.name)}</td><td class="num">{_sig(finite[-1]) if finite else DASH}</td>'
                    f'<td class="num"><span class="delta {change_class(ch, Direction.LOWER_IS_BETTER)}">'
                    f'{_e(fmt_change(ch))}</span></td></tr>')
    out.append(f'<div class="twocol"><div class="card">{chart}<div class="legend">{legend}</div></div>'
               '<div class="card"><table class="data"><tr><th>stage</th><th>newest</th><th>change</th></tr>'
               + "".join(rows) + "</table></div></div></section>")
    return "".join(out)


def render_regressions(regressions: list[Regression] | None, ctx: _Context, confirmations_path: Path) -> str:
    """The regressions table with each one's confirmation."""
    out = [('<section id="regressions"><h2>Flagged regressions</h2>'
            f'<p class="lead">What asv flagged on this machine (<a href="index.html#regressions">asv\'s list</a>), '
            f'each with its confirmation from <code>{_e(confirmations_path.as_posix())}</code>: '
            '<em>confirmed</em> (a real slowdown), <em>drift</em> (re-measured side by side, no difference), '
            '<em>fixed</em> (a real slowdown that a later commit undid, re-measured side by side; asv keeps '
            'listing it for a commit or more after the fix) or <em>unconfirmed</em> (not checked yet).</p>')]
    if regressions is None:
        return "".join(out) + (
            '<div class="notyet">asv has not published <code>regressions.json</code> yet.</div></section>'
        )
    if not regressions:
        return "".join(out) + '<div class="card">No regression flagged on this machine.</div></section>'
    counts = {v: sum(r.verdict is v for r in regressions) for v in Verdict}
    out.append('<div class="card"><p>' + ", ".join(
        f'<span class="verdict {v.value}">{counts[v]} {v.value}</span>' for v in Verdict) + "</p>")
    out.append('<table class="data"><tr><th>benchmark</th><th>commit</th><th class="num">before</th>'
               '<th class="num">after</th><th class="num">change</th><th>confirmation</th></tr>')
    for r in regressions:
        change = r.after / r.before - 1.0 if r.before else _NaN
        link = "index.html#" + r.name.split("(", 1)[0] + f"?machine={ctx.series.machine}"
        out.append(
            f'<tr class="regression" data-verdict="{r.verdict.value}">'
            f'<td><a href="{_e(link)}"><code>{_e(r.name)}</code></a></td>'
            f'<td><code>{short(r.before_commit) + ".." if r.before_commit else ""}{short(r.commit)}</code>'
            f'<div class="evidence">'
            f'{_e(ctx.subjects.get(r.commit, ""))}</div></td>'
            f'<td class="num">{_e(fmt_value(r.before, r.unit))}</td>'
            f'<td class="num">{_e(fmt_value(r.after, r.unit))}</td>'
            f'<td class="num"><span class="delta bad">{_e(fmt_change(change))}</span></td>'
            f'<td><span class="verdict {r.verdict.value}">{r.verdict.value}</span>'
            f'<div class="evidence">{_e(r.evidence)}</div></td></tr>')
    out.append("</table></div></section>")
    return "".join(out)


def page_name(machine: str, default: str) -> str:
    """File name of a machine's page: ``overview.html`` for the default machine."""
    if machine == default:
        return OVERVIEW_NAME
    return "overview-" + re.sub(r"[^A-Za-z0-9_.-]+", "_", machine) + ".html"


def render_page(ctx: _Context, machines: Sequence[str], default_machine: str, project: str,
                regressions: list[Regression] | None, confirmations_path: Path) -> str:
    """The whole page of one machine."""
    series = ctx.series
    css = (ASSETS_DIR / "overview.css").read_text(encoding="utf-8")
    js = (ASSETS_DIR / "overview.js").read_text(encoding="utf-8")
    grid_html, grid_data = render_grid(ctx)
    if series.commits:
        newest = series.commits[-1]
        summary = (f'{len(series.commits)} commits measured on <code>{_e(series.machine)}</code>, newest '
                   f'<code>{short(newest)}</code> {_e(ctx.subjects.get(newest, ""))}')
    else:
        summary = f'no results on <code>{_e(series.machine)}</code> yet'
    base_txt = short(ctx.base) if ctx.base else (short(series.commits[0]) if series.commits else "\u2013")
    chips = "".join(
        f'<a class="chip{" current" if m == series.machine else ""}" '
        f'href="{_e(page_name(m, default_machine))}">{_e(m)}</a>'
        for m in machines)
    tiles = "".join(render_tile(c, ctx) for c in COMPONENTS)
    data_json = json.dumps(grid_data, sort_keys=True).replace("</", "<\\/")
    return (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{_e(project)} \u00b7 benchmark overview \u00b7 {_e(series.machine)}</title>"
        f"<style>\n{css}</style></head>\n<body data-machine=\"{_e(series.machine)}\">"
        f'<header class="top"><h1>{_e(project)} benchmark overview</h1><span class="sub">{summary}</span>'
        '<nav><a href="index.html">asv dashboard</a><a href="index.html#regressions">asv regressions</a></nav></header>'
        f'<div class="machines">Machine: {chips}</div><main>'
        '<section id="components"><h2>Engine components</h2>'
        f'<p class="lead">Each tile: the component\'s headline figure at every measured commit (hover a point for the '
        f'commit), its newest value and change against <code>{_e(base_txt)}</code>, a few related figures, and the '
        f'optimization commits numbered: <span class="marks-key"><span class="num" style="background:#f79009"></span>'
        f'subject names the component (or <code>Perf:</code>)<span class="num" style="background:#12b76a"></span>'
        f'figure improved by more than {IMPROVEMENT_THRESHOLD:.0%} against the previous point</span>.</p>'
        f'<div class="tiles">{tiles}</div></section>'
        f"{grid_html}{render_complexity(ctx)}{render_regressions(regressions, ctx, confirmations_path)}"
        f'</main><footer>Built by <code>tools/dashboard_overview.py</code> from {series.result_files} result files in '
        f'<code>results/{_e(series.machine)}/</code>. Works offline: no request leaves this page.</footer>'
        f'<script type="application/json" id="overview-data">{data_json}</script>'
        f"<script>\n{js}</script></body></html>\n"
    )


# --------------------------------------------------------------------------------------------
# asv's index.html and the entry points

_LINK_HTML = (f'<li id="nav-li-agentfarm-overview"><!-- {LINK_MARKER} -->'
              f'<a href="{OVERVIEW_NAME}" style="font-weight:600">Overview</a></li>')
_LINK_RE = re.compile(r'<li id="nav-li-agentfarm-overview"><!-- ' + LINK_MARKER + r' -->.*?</li>', re.DOTALL)


def inject_link(index_html: Path) -> bool:
    """Add a visible "Overview" link to asv's navigation bar; running it again changes nothing.

    Args:
        index_html: asv's published ``index.html``.

    Returns:
        True when the file was changed.
    """
    if not index_html.exists():
        logger.warning("%s does not exist: no link to the overview added", index_html)
        return False
    text = index_html.read_text(encoding="utf-8")
    if _LINK_RE.search(text):
        new = _LINK_RE.sub(lambda _m: _LINK_HTML, text, count=1)
    else:
        anchor = re.search(r'<li id="nav-li-regressions">.*?</li>', text, re.DOTALL)
        if anchor:
            new = text[:anchor.end()] + "\n\t" + _LINK_HTML + text[anchor.end():]
        else:
            body = re.search(r"<body[^>]*>", text)
            link = (f'<div style="position:fixed;right:12px;top:12px;z-index:2000"><!-- {LINK_MARKER} -->'
                    f'<a href="{OVERVIEW_NAME}">Overview</a></div>')
            if body is None or LINK_MARKER in text:
                return False
            new = text[:body.end()] + link + text[body.end():]
    if new == text:
        return False
    index_html.write_text(new, encoding="utf-8")
    return True


def _resolve_base(base: str | None, commits: Sequence[str]) -> str | None:
    if base is None:
        return None
    matches = [c for c in commits if c.lower().startswith(base.lower())]
    if len(matches) != 1:
        raise ValueError(f"base commit {base!r} matches {len(matches)} measured commits (need exactly one)")
    return matches[0]


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def build_overview(results_dir: Path | str, html_dir: Path | str, repo_root: Path | str,
                   machine: str | None = None, base_commit: str | None = None) -> Path:
    """Write the overview pages into ``html_dir`` and link them from asv's ``index.html``.

    One page per machine series under ``results_dir``: ``overview.html`` for ``machine`` (default:
    ``agentfarm-reference`` when present, else the first machine), ``overview-<machine>.html`` for
    each other one; every page lists them all.

    Args:
        results_dir: asv results directory (``results/<machine>/*.json`` and ``benchmarks.json``).
        html_dir: asv's published site; ``index.json`` and ``regressions.json`` are read from it
            when present.
        repo_root: git checkout for commit order and subjects, and for
            ``docs/regression_confirmations.json``.
        machine: the machine of ``overview.html``.
        base_commit: hash prefix of the commit that changes are measured against (tiles, grid,
            exponents); default: each figure's oldest measured commit, and the grid's oldest.

    Returns:
        Path of ``html_dir/overview.html``.

    Raises:
        ValueError: unknown machine, a base commit that is not exactly one measured commit, or a
            malformed confirmations file.
    """
    results_dir, html_dir, repo_root = Path(results_dir), Path(html_dir), Path(repo_root)
    benchmarks = {k: v for k, v in _read_json(results_dir / "benchmarks.json").items() if isinstance(v, dict)}
    machines = list_machines(results_dir)
    if machine is not None and machine not in machines:
        raise ValueError(f"machine {machine!r} has no results in {results_dir} (found: {machines})")
    fallback = DEFAULT_MACHINE if DEFAULT_MACHINE in machines else (machines[0] if machines else DEFAULT_MACHINE)
    default = machine or fallback
    index = _read_json(html_dir / "index.json")
    project = str(index.get("project") or "agentfarm")
    confirmations_path = repo_root / CONFIRMATIONS_FILE
    confirmations = load_confirmations(confirmations_path)
    html_dir.mkdir(parents=True, exist_ok=True)
    for name in machines or [default]:
        series, dates = load_series(results_dir, name, benchmarks)
        subjects = order_commits(series, dates, repo_root, index)
        base = _resolve_base(base_commit, series.commits) if name == default else None
        ctx = _Context(series=series, subjects=subjects, benchmarks=benchmarks, base=base)
        regressions = load_regressions(html_dir, name, index, benchmarks, confirmations)
        page = render_page(ctx, machines, default, project, regressions, CONFIRMATIONS_FILE)
        target = html_dir / page_name(name, default)
        if not target.exists() or target.read_text(encoding="utf-8") != page:
            target.write_text(page, encoding="utf-8")
        logger.info("wrote %s (%d commits)", target, len(series.commits))
    inject_link(html_dir / "index.html")
    return html_dir / OVERVIEW_NAME


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: build the overview into the published site."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--results", type=Path, default=Path("results"), help="asv results directory")
    parser.add_argument("--html", type=Path, default=Path("html"), help="asv published site (written into)")
    parser.add_argument("--repo", type=Path, default=Path("."), help="git checkout for commit subjects")
    parser.add_argument("--machine", default=None, help=f"machine of overview.html (default {DEFAULT_MACHINE})")
    parser.add_argument("--base", default=None, help="commit (hash prefix) that changes are measured against")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        path = build_overview(args.results, args.html, args.repo, machine=args.machine, base_commit=args.base)
    except ValueError as err:
        parser.error(str(err))
    print(f"overview: {path.resolve().as_uri()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
