"""memory_profiler on one target in a fresh interpreter.

memory_profiler reads the process RSS, and an allocator that has already grown (an earlier,
larger run in the same process) satisfies new arrays from freed pages: every increment reads 0.
Tracing each target in its own short-lived process shows the memory the target really adds.
``python -m farm.profiling.isolated_memory --agents N --steps S --target LABEL`` prints the
result as JSON; :func:`memory_profile_isolated` runs it and reads that back, and
:func:`memory_profile_isolated_each` runs one such process per target, as many at a time as the
machine has cores (each child reads only its own RSS, so running side by side changes no figure).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

from farm.profiling.availability import ToolUnavailable, import_tool
from farm.profiling.memory_profiling import FunctionMemoryProfile, MemoryLine, memory_line_profile

__all__ = ["memory_profile_isolated", "memory_profile_isolated_each", "main"]


def memory_profile_isolated(
    agents: int, steps: int, target_label: str, seed: int = 42,
    env: Mapping[str, str] | None = None, cwd: str | Path | None = None, timeout_s: float = 300.0,
    preset: str = "light",
) -> tuple[FunctionMemoryProfile | None, str]:
    """Line-by-line memory of one target, traced in a separate process.

    Trace ``target_label`` (a label of :func:`~farm.profiling.targets.simulation_targets`) over
    ``steps`` steps of a fresh ``agents``-agent workload; returns its profile (None if the target
    never ran) and memory_profiler's text. ``preset``: the workload
    (:func:`~farm.profiling.workload.workload_config`).
    """
    import_tool("memory_profiler")  # fail here, in one line, when it is missing
    proc = subprocess.run(
        [sys.executable, "-m", "farm.profiling.isolated_memory", "--agents", str(agents), "--steps", str(steps),
         "--seed", str(seed), "--target", target_label, "--preset", preset],
        env=dict(env) if env is not None else None, cwd=cwd, capture_output=True, text=True, timeout=timeout_s,
    )
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()
        raise RuntimeError(
            f"memory_profiler subprocess for {target_label} failed: {tail[-1] if tail else proc.returncode}"
        )
    data = json.loads(proc.stdout)
    profile = None
    if data["function"] is not None:
        f = data["function"]
        profile = FunctionMemoryProfile(f["label"], f["filename"], tuple(MemoryLine(**line) for line in f["lines"]))
    return profile, data["text"]


def memory_profile_isolated_each(
    agents: int, steps: int, target_labels: Sequence[str], seed: int = 42,
    env: Mapping[str, str] | None = None, cwd: str | Path | None = None, timeout_s: float = 300.0,
    preset: str = "light", workers: int | None = None,
) -> list[tuple[FunctionMemoryProfile | None, str]]:
    """:func:`memory_profile_isolated` of every label in ``target_labels``, in that order.

    Each target still gets a fresh process of its own; up to ``workers`` of them (default: the
    cores this process may use) run at once, since each child's figures are its own RSS.
    """
    import_tool("memory_profiler")
    if workers is None:
        workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    workers = max(1, min(workers, len(target_labels)))

    def one(label: str) -> tuple[FunctionMemoryProfile | None, str]:
        return memory_profile_isolated(agents, steps, label, seed, env=env, cwd=cwd, timeout_s=timeout_s,
                                       preset=preset)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, target_labels))


def main(argv: Sequence[str] | None = None) -> int:
    """Child-process entry: profile one target's memory line by line, print JSON on stdout.

    Args:
        argv: command-line arguments (None: ``sys.argv[1:]``).

    Returns:
        0; an unknown target or a missing memory_profiler exits with a message instead.
    """
    parser = argparse.ArgumentParser(description="memory_profiler on one simulation target, JSON on stdout")
    parser.add_argument("--agents", type=int, required=True)
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--target", required=True)
    parser.add_argument("--preset", default="light", choices=("light", "agentfarm"))
    args = parser.parse_args(argv)
    from farm import Simulation
    from farm.profiling.targets import simulation_targets
    from farm.profiling.workload import workload_config

    sim = Simulation(workload_config(args.agents, seed=args.seed, preset=args.preset))
    try:
        targets = [t for t in simulation_targets(sim) if t.label == args.target]
        if not targets:
            raise SystemExit(f"unknown target {args.target!r}")
        try:
            result = memory_line_profile(lambda: sim.run(args.steps), targets)
        except ToolUnavailable as exc:
            raise SystemExit(str(exc)) from None
    finally:
        sim.close()
    function = asdict(result.functions[0]) if result.functions else None
    json.dump({"function": function, "text": result.text}, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
