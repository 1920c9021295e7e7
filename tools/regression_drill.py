#!/usr/bin/env python
"""Regression drill: prove that the project's ``find`` names the commit that made a component slower.

1. Clone the repository's HEAD into a scratch directory (the configured branch there).
2. Commit a few harmless changes, then a deliberate slowdown of one component, then a few more
   harmless changes.
3. Run the project's ``find`` (``historylib.bisect`` over ``asv run COMMIT^!``, one benchmark at
   one parameter combination) over the drill's commits.
4. Check that it names the slowdown commit; exit 0 if so, 1 otherwise.

Kinds (``--kind``):

- ``2x``: ``ResourceManager.regenerate`` does its work twice, found by the wall-time track
  ``bench_resources.LargeWorldRegeneration.track_regenerate_min_seconds`` (a few minutes; in CI).
- ``20pct``: the k-d tree's batched radius query also answers the first tenth of its query points
  a second time (real work, no sleep; a second call pays the call's fixed cost again, so a tenth
  of the points costs ~20 %), found by ``bench_spatial.RadiusQuery.time_batched_radius`` at
  ``kdtree, 1000, uniform, 5.0`` with interleaved sessions (below).
- ``5pct-instructions``: ``regenerate`` does ~5 % more instructions (a loop calibrated with
  callgrind against one regenerate of 25 000 nodes), found by the instruction track
  :data:`INSTRUCTION_BENCHMARK` (needs valgrind and the ``bench_instructions`` module).
- ``5pct-walltime``: the same 5 % slowdown, bisected with the wall-time track of the 2x drill
  (whether wall time finds it on this machine is the question this kind answers). ``--benchmark``
  (and ``--params``) bisect any kind's slowdown with another benchmark instead.

Wall time on a loaded machine drifts between measurements minutes apart by more than 20 % (one
commit read 1.0 ms, then 2.6 ms, here), so a kind with ``rounds`` > 1 (``20pct``; any kind with
``--rounds N``) is bisected by :func:`historylib.bisect.bisect_interleaved`: every probe is
measured in one ``asv run`` together with the known-good and known-bad commits that bracket it,
asv interleaving their N rounds, and each commit's value is the minimum of every sample recorded
for it so far (load only ever adds time). Kinds with one round use the project's ``find``
unchanged: one ``asv run COMMIT^!`` per probe, asv's own value.

A drill fails when the endpoints differ by less than a quarter of the planted slowdown, so it
cannot pass on a noise step. ``--record FILE`` appends one JSON line per drill: the command,
wall time, the commits the bisection visited with their values, and the result. A ``track_``
benchmark records no samples; with ``--rounds`` its value of each session counts as one sample.

The drill uses its own machine name (:data:`DRILL_MACHINE`) and a results directory inside the
scratch directory, so the real ``results/`` is never touched. Its asv environment lives in
``.asv/drill-env`` of the repository and is reused across drills.

    python tools/regression_drill.py [--kind 2x|20pct|5pct-instructions|5pct-walltime] [--rounds N]
                                     [--benchmark NAME [--params P1,P2]] [--record FILE]
                                     [--keep] [--scratch DIR]
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from historylib import asvconf, gitrepo, machine, results
from historylib.bisect import Bisection, bisect_interleaved, bisect_step
from historylib.history import measure, spawns_probe
from historylib.proc import ASV_RUN_TIMEOUT, GIT_TIMEOUT, ToolError, run

DRILL_MACHINE = "agentfarm-drill"
INSTRUCTION_BENCHMARK = "bench_instructions.RegenerationInstructions.track_regeneration_instructions"
WALLTIME_REGENERATION = "bench_resources.LargeWorldRegeneration.track_regenerate_min_seconds"
HARMLESS_BEFORE = 3
HARMLESS_AFTER = 2

TWICE = '''

# --- regression drill: a deliberate 2x slowdown (never on main) -----------------------------
def _drill_twice(method):
    def twice(*args, **kwargs):
        method(*args, **kwargs)
        return method(*args, **kwargs)

    return twice


{owner}.{method} = _drill_twice({owner}.{method})
'''

EXTRA_QUERY = '''

# --- regression drill: a deliberate 20 % slowdown of real work (never on main) ----------------
def _drill_extra_queries(method):
    def slower(self, points, *args, **kwargs):
        result = method(self, points, *args, **kwargs)
        if getattr(points, "ndim", 1) == 2 and len(points) >= 10:
            # The first tenth of the points again: with the second call's fixed cost, +21 % for
            # 1 000 points (min of 300 interleaved samples; a fifth measured +34 %).
            method(self, points[: len(points) // 10], *args, **kwargs)
        return result

    return slower


{owner}.{method} = _drill_extra_queries({owner}.{method})
'''

FIVE_PERCENT = '''

# --- regression drill: a deliberate 5 % slowdown (never on main) ------------------------------
def _drill_five_percent(method):
    def slower(self, *args, **kwargs):
        result = method(self, *args, **kwargs)
        total = 0
        # One loop turn costs ~350 instructions (CPython 3.11): at 25 000 nodes, 200 turns add
        # ~70 000, 5 % of one regenerate() (callgrind: 1 393 975 -> 1 463 372, +4.98 %).
        for i in range(len(self) // 125):
            total += i
        return result

    return slower


{owner}.{method} = _drill_five_percent({owner}.{method})
'''


@dataclass(frozen=True)
class DrillKind:
    """One drill: the method made slower, how, and the benchmark point that must catch it."""

    target: str  # module:Owner.method
    template: str
    benchmark: str
    params: tuple[str, ...] = ()
    description: str = ""
    expected_step: float = 1.0  # the relative slowdown planted; the drill fails below a quarter of it
    rounds: int = 1  # > 1: interleaved sessions of this many asv rounds, minimum of the samples


KINDS = {
    "2x": DrillKind("farm.resources.manager:ResourceManager.regenerate", TWICE,
                    "bench_resources.LargeWorldRegeneration.track_regenerate_min_seconds",
                    description="does its work twice", expected_step=1.0),
    "20pct": DrillKind("farm.spatial.kdtree:KDTreeIndex.query_radius", EXTRA_QUERY,
                       "bench_spatial.RadiusQuery.time_batched_radius", ("kdtree", "1000", "uniform", "5.0"),
                       description="answers a tenth of its query points twice (~20 % more work)",
                       expected_step=0.2, rounds=8),
    "5pct-instructions": DrillKind("farm.resources.manager:ResourceManager.regenerate", FIVE_PERCENT,
                                   INSTRUCTION_BENCHMARK, description="does 5 % more work (instructions)",
                                   expected_step=0.05),
    "5pct-walltime": DrillKind("farm.resources.manager:ResourceManager.regenerate", FIVE_PERCENT,
                               WALLTIME_REGENERATION, description="does 5 % more work (instructions)",
                               expected_step=0.05),
}
DEFAULT_KIND = "2x"
DEFAULT_TARGET = KINDS[DEFAULT_KIND].target
DEFAULT_BENCHMARK = KINDS[DEFAULT_KIND].benchmark


def git(*args: str, cwd: Path) -> str:
    return run(["git", *args], cwd=cwd, timeout=GIT_TIMEOUT)


def commit_all(clone: Path, message: str) -> str:
    git("add", "-A", cwd=clone)
    git("-c", "user.name=drill", "-c", "user.email=drill@localhost", "commit", "-q", "-m", message, cwd=clone)
    return git("rev-parse", "HEAD", cwd=clone).strip()


def harmless_commit(clone: Path, number: int) -> str:
    """A change that cannot affect timing: a line in a notes file."""
    with (clone / "DRILL_NOTES.md").open("a") as handle:
        handle.write(f"harmless drill change {number}\n")
    return commit_all(clone, f"drill: harmless change {number}")


def target_source_file(clone: Path, target: str) -> tuple[Path, str, str]:
    """``(file, owner, method)`` for ``module:Owner.method``: the file (inside ``clone``) that
    defines the module, checked by importing it from the clone in a subprocess."""
    module, qualname = target.split(":")
    owner, method = qualname.rsplit(".", 1)
    code = "\n".join([
        "import functools, importlib, inspect, json",
        f"module = importlib.import_module({module!r})",
        f"owner = functools.reduce(getattr, {owner.split('.')!r}, module)",
        f"assert callable(getattr(owner, {method!r}))",
        "print(json.dumps(inspect.getsourcefile(module)))",
    ])
    out = run([sys.executable, "-c", code], cwd=clone, timeout=120, env={**os.environ, "PYTHONPATH": str(clone)})
    path = Path(json.loads(out.strip().splitlines()[-1])).resolve()
    if clone.resolve() not in path.parents:
        raise ToolError(f"{target} resolved outside the scratch clone: {path}")
    return path, owner, method


def slowdown_commit(clone: Path, kind: DrillKind) -> str:
    path, owner, method = target_source_file(clone, kind.target)
    with path.open("a") as handle:
        handle.write(kind.template.format(owner=owner, method=method))
    return commit_all(clone, f"drill: {owner}.{method} {kind.description}")


def prepare(
    scratch: Path, kind: DrillKind | str = DEFAULT_KIND, branch: str | None = None
) -> tuple[Path, str, str, str]:
    """Clone and commit; returns ``(clone, base, bad, tip)`` commit hashes."""
    kind = KINDS[kind] if isinstance(kind, str) else kind
    branch = branch or gitrepo.default_branch(asvconf.load_asv_config())
    clone = scratch / "repo"
    git("clone", "-q", "--no-hardlinks", str(gitrepo.REPO_ROOT), str(clone), cwd=scratch)
    git("checkout", "-q", "-B", branch, cwd=clone)
    base = git("rev-parse", "HEAD", cwd=clone).strip()
    for number in range(1, HARMLESS_BEFORE + 1):
        harmless_commit(clone, number)
    bad = slowdown_commit(clone, kind)
    for number in range(HARMLESS_BEFORE + 1, HARMLESS_BEFORE + HARMLESS_AFTER + 1):
        harmless_commit(clone, number)
    tip = git("rev-parse", "HEAD", cwd=clone).strip()
    return clone, base, bad, tip


def samples_at(results_dir: Path, name: str, commit: str, benchmark: str, params: list[str] | None) -> list[float]:
    """The raw samples asv recorded (``--record-samples``) for ``benchmark`` at ``params`` at
    ``commit``; empty when none were recorded or the point failed."""
    wanted = [p.strip("'\"") for p in params or []]
    found: list[float] = []
    for path in results.result_files(results_dir, name, commit):
        data = json.loads(path.read_text())
        columns = data.get("result_columns", [])
        entry = data.get("results", {}).get(benchmark)
        if entry is None or "samples" not in columns:
            continue
        row = dict(zip(columns, entry))
        combos = [[v.strip("'\"") for v in combo] for combo in itertools.product(*(row.get("params") or []))]
        index = combos.index(wanted) if wanted in combos else (0 if not wanted and not combos else None)
        samples = row.get("samples")
        if index is None or not samples or index >= len(samples) or not samples[index]:
            continue
        found.extend(float(x) for x in samples[index] if isinstance(x, (int, float)) and math.isfinite(x))
    return found


def find_in_clone(clone: Path, scratch: Path, commits: list[str], benchmark: str, params: list[str] | None,
                  env_dir: Path, branch: str, rounds: int = 1) -> Bisection:
    """The project's find over ``commits`` of ``clone``; with ``rounds`` > 1 the interleaved
    bisection (each probe measured with its brackets, minimum of the accumulated samples)."""
    results_dir = scratch / "results"
    config = asvconf.write_derived_config(scratch / "asv.conf.json", root=clone, env_dir=env_dir,
                                          results_dir=results_dir, html_dir=scratch / "html", branches=[branch])
    name = machine.ensure_machine(DRILL_MACHINE, results_dir)
    regex = results.combination_regex(benchmark, params)

    if rounds <= 1:
        spawn = spawns_probe([regex], clone / "results" / "benchmarks.json")  # the suite asv runs: the clone's

        def value_at(commit: str) -> float | None:
            # forced: bisect_step reads its final brackets again, and asv would read back the stored value
            measure([commit], name, [regex], force=True, config=config, cwd=clone, hashfile=scratch / "probe.txt",
                    log_path=scratch / f"probe-{commit[:8]}.log", progress=False, spawn_probe=spawn)
            value = results.find_point(results.load_points(results_dir, name, commit), benchmark, params)
            print(f"drill: {commit[:8]} -> {value}")
            return value

        return bisect_step(commits, value_at)

    collected: dict[str, list[float]] = {}
    sessions = itertools.count(1)

    def values_of(together: list[str]) -> dict[str, float | None]:
        number = next(sessions)
        hashfile = scratch / "session.txt"
        hashfile.write_text("\n".join(together) + "\n")
        started = time.monotonic()
        rc, _ = asvconf.run_asv("run", f"HASHFILE:{hashfile}", "--machine", name, "--show-stderr",
                                "--bench", regex, "-a", f"rounds={rounds}", "--record-samples",
                                "--interleave-rounds", config=config, cwd=clone,
                                log_path=scratch / f"session-{number}.log", echo=False, timeout=ASV_RUN_TIMEOUT)
        got: dict[str, float | None] = {}
        for commit in together:
            samples = samples_at(results_dir, name, commit, benchmark, params)
            if not samples:  # a track_ benchmark records no samples: its value of this session
                value = results.find_point(results.load_points(results_dir, name, commit), benchmark, params)
                samples = [] if value is None else [value]
            collected.setdefault(commit, []).extend(samples)
            got[commit] = min(collected[commit]) if collected[commit] else None
        print(f"drill: session {number} ({rounds} interleaved rounds, {time.monotonic() - started:.0f} s, "
              f"asv exit {rc}): " + ", ".join(
                  f"{c[:8]} -> {got[c]:.6g} (min of {len(collected[c])})" if got[c] is not None
                  else f"{c[:8]} -> not measured" for c in together))
        return got

    return bisect_interleaved(commits, values_of)


def visited(outcome: Bisection) -> list[dict]:
    """The probes of a bisection as records: commit and value, in the order measured."""
    return [{"commit": commit, "value": value} for commit, value in outcome.probes]


def judge(outcome: Bisection, bad: str, kind: DrillKind) -> tuple[bool, str]:
    """``(passed, one line)``: the drill passes when find named ``bad`` and the endpoints differ
    by at least a quarter of the planted slowdown (so it cannot pass on a noise step)."""
    found = outcome.first_bad
    if found is None:
        return False, "find named no commit"
    step = outcome.bad_value / outcome.good_value - 1.0
    if step < kind.expected_step / 4:  # wall time on a loaded machine: a 2x step has read +46 %
        return False, (f"the endpoints differ by {step:+.1%}, the planted slowdown is {kind.expected_step:+.0%}: "
                       "the benchmark did not see it")
    if found != bad:
        return False, f"find named {found[:8]}, the slowdown is {bad[:8]}"
    return True, f"find named the slowdown commit {bad[:8]} (endpoints {step:+.1%})"


def chosen_kind(name: str, benchmark: str | None = None, params: str | None = None,
                rounds: int | None = None) -> DrillKind:
    """The drill ``name`` with the command line's overrides: another benchmark (its parameter
    combination ``params``, comma-separated, default none) and ``rounds``."""
    kind = KINDS[name]
    if benchmark:
        kind = replace(kind, benchmark=benchmark, params=())
    if params is not None:
        kind = replace(kind, params=tuple(p.strip() for p in params.split(",") if p.strip()))
    if rounds is not None:
        if rounds < 1:
            raise ValueError(f"rounds must be >= 1, got {rounds}")
        kind = replace(kind, rounds=rounds)
    return kind


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kind", choices=sorted(KINDS), default=DEFAULT_KIND, help="which drill (default 2x)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="asv rounds per commit per session; > 1 bisects with interleaved sessions "
                             "(default: the kind's, 8 for 20pct, else 1)")
    parser.add_argument("--benchmark", help="bisect this benchmark instead of the kind's (same slowdown)")
    parser.add_argument("--params", help="its parameter combination, comma-separated (e.g. 'kdtree,1000')")
    parser.add_argument("--record", help="append one JSON line describing the drill to this file")
    parser.add_argument("--scratch", help="scratch directory (default: a new temporary one)")
    parser.add_argument("--env-dir", default=str(gitrepo.REPO_ROOT / ".asv" / "drill-env"),
                        help="asv environment directory, reused across drills")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    raw = [a for a in (sys.argv[1:] if argv is None else argv) if a != "--"]
    args = parser.parse_args(raw)
    try:
        kind = chosen_kind(args.kind, args.benchmark, args.params, args.rounds)
    except ValueError as exc:
        parser.error(str(exc))
    rounds = kind.rounds

    started = time.monotonic()
    scratch = Path(args.scratch or tempfile.mkdtemp(prefix="asv-drill-")).resolve()
    scratch.mkdir(parents=True, exist_ok=True)
    record: dict = {"kind": args.kind, "command": " ".join(["python", "tools/regression_drill.py", *raw]),
                    "benchmark": results.params_label(kind.benchmark, list(kind.params)), "rounds": rounds}
    try:
        branch = gitrepo.default_branch(asvconf.load_asv_config())
        clone, base, bad, tip = prepare(scratch, kind, branch)
        record.update(base=base, slowdown=bad, tip=tip)
        print(f"drill {args.kind}: scratch clone {clone}; slowdown committed as {bad[:8]} in {base[:8]}..{tip[:8]}; "
              f"benchmark {record['benchmark']}" + (f"; {rounds} interleaved rounds per session" if rounds > 1 else ""))
        commits = gitrepo.first_parent_commits(f"{base}..{tip}", cwd=clone)
        outcome = find_in_clone(clone, scratch, [base, *commits], kind.benchmark, list(kind.params) or None,
                                Path(args.env_dir).resolve(), branch, rounds)
        elapsed = time.monotonic() - started
        passed, line = judge(outcome, bad, kind)
        record.update(found=outcome.first_bad, good_value=outcome.good_value, bad_value=outcome.bad_value,
                      visited=visited(outcome), passed=passed, result=line, seconds=round(elapsed))
        print(f"drill: {outcome.message}")
        print("drill: visited " + ", ".join(f"{c[:8]}={v:.6g}" if v is not None else f"{c[:8]}=n/a"
                                            for c, v in outcome.probes))
        print(f"drill {'passed' if passed else 'FAILED'}: {line} ({elapsed:.0f} s)")
        return 0 if passed else 1
    except ToolError as exc:
        record.update(passed=False, result=f"error: {exc}", seconds=round(time.monotonic() - started))
        print(f"regression_drill: error: {exc}", file=sys.stderr)
        return 2
    finally:
        if args.record:
            with open(args.record, "a") as handle:
                handle.write(json.dumps(record) + "\n")
        if not args.keep and not args.scratch:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
