#!/usr/bin/env python
"""Regression drill: prove that the project's ``find`` names the commit that made a component slower.

1. Clone the repository's HEAD into a scratch directory (the configured branch there).
2. Commit a few harmless changes, then a deliberate slowdown of one component, then a few more
   harmless changes.
3. Run the project's ``find`` (``historylib.bisect`` over ``asv run COMMIT^!``, one benchmark at
   one parameter combination) over the drill's commits.
4. Check that it names the slowdown commit; exit 0 if so, 1 otherwise.

Three kinds (``--kind``):

- ``2x``: ``ResourceManager.regenerate`` does its work twice, found by the wall-time track
  ``bench_resources.LargeWorldRegeneration.track_regenerate_min_seconds`` (a few minutes; in CI).
- ``20pct``: the k-d tree's batched radius query also answers the first 20 % of its query points a
  second time (real work, no sleep), found by ``bench_spatial.RadiusQuery.time_batched_radius``
  at ``kdtree, 1000, uniform, 5.0``.
- ``5pct-instructions``: ``regenerate`` does ~5 % more instructions (a loop calibrated with
  cachegrind against one regenerate of 25 000 nodes), found by the instruction track
  :data:`INSTRUCTION_BENCHMARK` (needs valgrind and the ``bench_instructions`` module).

A drill fails when the endpoints differ by less than a quarter of the planted slowdown, so it
cannot pass on a noise step.

The drill uses its own machine name (:data:`DRILL_MACHINE`) and a results directory inside the
scratch directory, so the real ``results/`` is never touched. Its asv environment lives in
``.asv/drill-env`` of the repository and is reused across drills.

    python tools/regression_drill.py [--kind 2x|20pct|5pct-instructions] [--keep] [--scratch DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from historylib import asvconf, gitrepo, machine, results
from historylib.bisect import Bisection, bisect_step
from historylib.history import measure
from historylib.proc import GIT_TIMEOUT, ToolError, run

DRILL_MACHINE = "agentfarm-drill"
INSTRUCTION_BENCHMARK = "bench_instructions.RegenerationInstructions.track_regeneration_instructions"
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
        if getattr(points, "ndim", 1) == 2 and len(points) >= 5:
            method(self, points[: len(points) // 5], *args, **kwargs)  # the first 20 % again
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
        # ~70 000, 5 % of one regenerate() (1.40 M; cachegrind: 174 turns measured +4.4 %).
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


KINDS = {
    "2x": DrillKind("farm.resources.manager:ResourceManager.regenerate", TWICE,
                    "bench_resources.LargeWorldRegeneration.track_regenerate_min_seconds",
                    description="does its work twice", expected_step=1.0),
    "20pct": DrillKind("farm.spatial.kdtree:KDTreeIndex.query_radius", EXTRA_QUERY,
                       "bench_spatial.RadiusQuery.time_batched_radius", ("kdtree", "1000", "uniform", "5.0"),
                       description="answers 20 % of its query points twice", expected_step=0.2),
    "5pct-instructions": DrillKind("farm.resources.manager:ResourceManager.regenerate", FIVE_PERCENT,
                                   INSTRUCTION_BENCHMARK, description="does 5 % more work (instructions)",
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


def find_in_clone(clone: Path, scratch: Path, commits: list[str], benchmark: str, params: list[str] | None,
                  env_dir: Path, branch: str) -> Bisection:
    """The project's find over ``commits`` of ``clone``."""
    results_dir = scratch / "results"
    config = asvconf.write_derived_config(scratch / "asv.conf.json", root=clone, env_dir=env_dir,
                                          results_dir=results_dir, html_dir=scratch / "html", branches=[branch])
    name = machine.ensure_machine(DRILL_MACHINE, results_dir)
    regex = results.combination_regex(benchmark, params)

    def value_at(commit: str) -> float | None:
        measure([commit], name, [regex], config=config, cwd=clone, hashfile=scratch / "probe.txt",
                log_path=scratch / f"probe-{commit[:8]}.log", progress=False)
        value = results.find_point(results.load_points(results_dir, name, commit), benchmark, params)
        print(f"drill: {commit[:8]} -> {value}")
        return value

    return bisect_step(commits, value_at)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kind", choices=sorted(KINDS), default=DEFAULT_KIND, help="which drill (default 2x)")
    parser.add_argument("--scratch", help="scratch directory (default: a new temporary one)")
    parser.add_argument("--env-dir", default=str(gitrepo.REPO_ROOT / ".asv" / "drill-env"),
                        help="asv environment directory, reused across drills")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args([a for a in argv if a != "--"] if argv is not None else None)
    kind = KINDS[args.kind]

    started = time.monotonic()
    scratch = Path(args.scratch or tempfile.mkdtemp(prefix="asv-drill-")).resolve()
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        branch = gitrepo.default_branch(asvconf.load_asv_config())
        clone, base, bad, tip = prepare(scratch, kind, branch)
        print(f"drill {args.kind}: scratch clone {clone}; slowdown committed as {bad[:8]} in {base[:8]}..{tip[:8]}; "
              f"benchmark {results.params_label(kind.benchmark, list(kind.params))}")
        commits = gitrepo.first_parent_commits(f"{base}..{tip}", cwd=clone)
        outcome = find_in_clone(clone, scratch, [base, *commits], kind.benchmark, list(kind.params) or None,
                                Path(args.env_dir).resolve(), branch)
        found = outcome.first_bad
        elapsed = time.monotonic() - started
        print(f"drill: {outcome.message}")
        if found is None:
            print(f"drill FAILED: find named no commit ({elapsed:.0f} s)")
            return 1
        step = outcome.bad_value / outcome.good_value - 1.0
        if step < kind.expected_step / 4:  # wall time on a loaded machine: a 2x step has read +46 %
            print(f"drill FAILED: the endpoints differ by {step:+.1%}, the planted slowdown is "
                  f"{kind.expected_step:+.0%}: the benchmark did not see it ({elapsed:.0f} s)")
            return 1
        if found != bad:
            print(f"drill FAILED: find named {found[:8]}, the slowdown is {bad[:8]} ({elapsed:.0f} s)")
            return 1
        print(f"drill passed: find named the slowdown commit {bad[:8]} in {elapsed:.0f} s")
        return 0
    except ToolError as exc:
        print(f"regression_drill: error: {exc}", file=sys.stderr)
        return 2
    finally:
        if not args.keep and not args.scratch:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
