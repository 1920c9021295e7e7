#!/usr/bin/env python
"""Instructions per step of the AgentFarm preset at several agent counts, commit by commit.

The instruction track ``bench_instructions.StepInstructions('agentfarm')`` counts the preset as
shipped (100 agents). A change can trade work that grows with the agents for work that grows with
the world, and then the same commit costs more instructions at 100 agents and fewer at 1 000.
This tool counts one ``Simulation.step`` of the preset in ``bench_workload``'s sustaining world
(:func:`benchmarks.bench_workload.workload_config`, MLP, log on disk) at each ``--agents`` count,
for each commit, under callgrind exactly as the instruction tracks do (``benchmarks/_valgrind.py``:
ASLR off, one thread, ``PYTHONHASHSEED=0``, set-up and a warm-up step not counted).

Each commit's ``farm/`` is taken from git (``git archive``) into a temporary directory that goes
first on the child's ``sys.path``; the benchmark helpers are this checkout's. Nothing is installed
and nothing in the repository is written.

    python tools/step_instructions.py e809b8b 25d099a 6ec981e [--agents 100 1000] [--learning off]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
STEP_WARMUP = 5  # steps before the warm-up step and the counted steps (as StepInstructions)
COUNTED_STEPS = 2
TIMEOUT = 1_800  # seconds for one commit's valgrind child
GIT_TIMEOUT = 120


def build_step(agents: int, learning: str):
    """The builder the valgrind child calls: the preset at ``agents`` agents after
    :data:`STEP_WARMUP` steps; returns ``Simulation.step``."""
    try:
        from benchmarks.bench_workload import preset_available, workload_config
        from farm import Simulation
    except ImportError:
        raise NotImplementedError("farm.Simulation or the agentfarm preset is not available at this commit") from None
    if not preset_available():
        raise NotImplementedError("SimulationConfig.preset is not available at this commit")
    simulation = Simulation(workload_config(agents, learning, "mlp", f"step{agents}.db"))
    simulation.run(STEP_WARMUP)
    return simulation.step


def count_here(agents: list[int], learning: str) -> dict[str, float | str]:
    """Count in this process's ``farm``: ``{"<agents>": instructions per step or why not}``."""
    from benchmarks._valgrind import Workload, count_workloads

    workloads = [Workload(f"step_{n}", "step_instructions:build_step", (n, learning), COUNTED_STEPS,
                          requires="farm.core.simulation") for n in agents]
    report = count_workloads(workloads, timeout=TIMEOUT)
    out: dict[str, float | str] = {}
    for n in agents:
        name = f"step_{n}"
        out[str(n)] = report.counts.get(name) or report.skipped.get(name) or report.failed.get(name, "no count")
    return out


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO_ROOT, check=True, capture_output=True, text=True,
                          timeout=GIT_TIMEOUT).stdout.strip()


def count_commit(commit: str, agents: list[int], learning: str) -> dict[str, float | str]:
    """Extract ``farm/`` of ``commit`` and count it in a child interpreter."""
    with tempfile.TemporaryDirectory(prefix="step-instructions-") as work:
        archive = Path(work) / "farm.tar"
        with archive.open("wb") as handle:
            subprocess.run(["git", "archive", commit, "farm"], cwd=REPO_ROOT, check=True, stdout=handle,
                           timeout=GIT_TIMEOUT)
        with tarfile.open(archive) as tar:
            tar.extractall(Path(work) / "src", filter="data")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(work) / "src"), str(REPO_ROOT)])}
        done = subprocess.run([sys.executable, __file__, "--count-here", "--learning", learning,
                               "--agents", *map(str, agents)], cwd=work, env=env, capture_output=True,
                              text=True, timeout=TIMEOUT + 60, check=False)
        if done.returncode != 0:
            raise SystemExit(f"counting {commit[:8]} failed (exit {done.returncode}): {done.stderr.strip()[-500:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("commits", nargs="*", help="revisions, in the order to list them")
    parser.add_argument("--agents", type=int, nargs="+", default=[100, 1_000])
    parser.add_argument("--learning", choices=["off", "on"], default="off")
    parser.add_argument("--count-here", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    bad = [n for n in args.agents if n < 3]
    if bad:
        parser.error(f"--agents must be at least 3 (one per agent type), got {bad[0]}")
    if args.count_here:
        print(json.dumps(count_here(args.agents, args.learning)))
        return 0
    if not args.commits:
        parser.error("name at least one commit")
    commits = []
    for rev in args.commits:
        found = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=GIT_TIMEOUT, check=False)
        if found.returncode != 0:
            print(f"step_instructions: unknown revision {rev!r}", file=sys.stderr)
            return 2
        commits.append(found.stdout.strip())
    print(f"instructions per step, agentfarm preset in the sustaining world, MLP, learning {args.learning}, "
          f"mean of {COUNTED_STEPS} steps after {STEP_WARMUP} + 1")
    header = "| commit | " + " | ".join(f"{n} agents | change" for n in args.agents) + " | subject |"
    print(header)
    print("|" + "---|" * (2 + 2 * len(args.agents)))
    previous: dict[str, float] = {}
    for commit in commits:
        counts = count_commit(commit, args.agents, args.learning)
        cells = []
        for n in args.agents:
            value = counts[str(n)]
            if isinstance(value, (int, float)):
                before = previous.get(str(n))
                cells += [f"{value / 1e6:.2f} M", f"{value / before - 1:+.1%}" if before else ""]
                previous[str(n)] = value
            else:
                cells += ["skipped", ""]
        print(f"| {commit[:8]} | " + " | ".join(cells) + f" | {_git('log', '-1', '--format=%s', commit)[:60]} |",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
