#!/usr/bin/env python
"""The replay's frame copies on the worker thread against inline, side by side in one simulation.

A :class:`farm.decision.frames.FrameStore` copies a write of at least
``frames.BACKGROUND_COPY_BYTES`` on its worker thread. This tool runs the AgentFarm preset in
``bench_workload``'s sustaining world (MLP, log on disk, one torch thread) and, after the warm-up,
switches that threshold every ``--block`` steps between its shipped value (*worker*) and a size no
write reaches (*inline*), so that both arms share the simulation, the process and whatever the host
does meanwhile (on a host with a slow mode, separate runs differ by more than the effect). The
simulation is the same either way, bit for bit; only where the copy runs changes.

Prints, for each arm, the median and the mean wall milliseconds of a step, the process's CPU
milliseconds per step (every thread's: the worker's copies and the log's writer included) and
each stage's mean wall milliseconds. With learning on, a block of 2 holds one training step per
arm and block, and only the means compare like with like (a median picks one kind of step).

    python tools/copy_thread_ab.py [--agents 1000] [--learning off] [--steps 400] [--warmup 200] [--block 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
ARMS = ("worker", "inline")
NEVER = 1 << 62  # bytes no frame write reaches: every copy inline


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def compare(agents: int, learning: str, steps: int, warmup: int, block: int) -> dict[str, dict]:
    """``{arm: {"steps", "step_ms", "mean_step_ms", "cpu_ms_per_step", "stages_ms": {stage: mean
    ms}}}`` over each arm's steps (arms alternate every ``block`` steps, the worker first)."""
    import torch

    from benchmarks.bench_workload import workload_config
    from farm import Simulation
    from farm.decision import frames

    torch.set_num_threads(1)
    shipped = frames.BACKGROUND_COPY_BYTES
    samples: dict[str, list[tuple[float, float, dict[str, float]]]] = {arm: [] for arm in ARMS}
    with tempfile.TemporaryDirectory(prefix="copy-thread-ab-") as directory:
        with Simulation(workload_config(agents, learning, "mlp", os.path.join(directory, "run.db"))) as sim:
            sim.run(warmup)
            try:
                for index in range(steps):
                    arm = ARMS[(index // block) % 2]
                    frames.BACKGROUND_COPY_BYTES = shipped if arm == "worker" else NEVER
                    before = dict(sim.stage_seconds)
                    cpu, started = time.process_time(), time.perf_counter()
                    sim.step()
                    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
                    stages = {name: sim.stage_seconds[name] - before[name] for name in before}
                    samples[arm].append((wall, cpu, stages))
            finally:
                frames.BACKGROUND_COPY_BYTES = shipped
    result = {}
    for arm, rows in samples.items():
        result[arm] = {
            "steps": len(rows),
            "step_ms": 1e3 * statistics.median(row[0] for row in rows),
            "mean_step_ms": 1e3 * statistics.fmean(row[0] for row in rows),
            "cpu_ms_per_step": 1e3 * statistics.fmean(row[1] for row in rows),
            "stages_ms": {name: 1e3 * statistics.fmean(row[2][name] for row in rows) for name in rows[0][2]},
        }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=_positive, default=1000)
    parser.add_argument("--learning", choices=("off", "on"), default="off")
    parser.add_argument("--steps", type=_positive, default=400, help="steps measured, both arms together")
    parser.add_argument("--warmup", type=_positive, default=200)
    parser.add_argument("--block", type=_positive, default=2, help="steps per arm before switching")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO_ROOT))
    try:
        from farm.decision import frames
    except ImportError as error:
        print(f"copy_thread_ab: farm is not importable: {error}", file=sys.stderr)
        return 2
    if not hasattr(frames, "BACKGROUND_COPY_BYTES"):
        print("copy_thread_ab: this farm copies every frame inline (no frames.BACKGROUND_COPY_BYTES)", file=sys.stderr)
        return 2
    result = compare(args.agents, args.learning, args.steps, args.warmup, args.block)
    stages = list(result["worker"]["stages_ms"])
    print(f"agentfarm preset, {args.agents} agents, learning {args.learning}: {args.warmup} warm-up steps, then "
          f"{args.steps} steps alternating every {args.block} between the arms; wall ms (stages: means), CPU ms")
    print("| arm | steps | step median | step mean | CPU per step | " + " | ".join(stages) + " |")
    print("|---" * (5 + len(stages)) + "|")
    for arm in ARMS:
        row = result[arm]
        print(f"| {arm} | {row['steps']} | {row['step_ms']:.2f} | {row['mean_step_ms']:.2f} | "
              f"{row['cpu_ms_per_step']:.2f} | "
              + " | ".join(f"{row['stages_ms'][name]:.2f}" for name in stages) + " |")
    worker, inline = result["worker"], result["inline"]
    print(f"inline / worker: step median {inline['step_ms'] / worker['step_ms']:.3f}, step mean "
          f"{inline['mean_step_ms'] / worker['mean_step_ms']:.3f}, learn (mean) "
          f"{inline['stages_ms']['learn'] / worker['stages_ms']['learn']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
