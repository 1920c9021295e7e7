"""The simulation every profiler runs: a seeded config by agent count, and a command-line entry
(``python -m farm.profiling.workload``) for profilers that watch a separate process (py-spy)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["workload_config", "run_workload", "workload_command", "main"]


def workload_config(agents: int, world: float = 100.0, seed: int = 42, overrides: Mapping[str, Any] | None = None):
    """A :class:`farm.SimulationConfig` with ``agents`` split evenly over the three agent types
    (remainder to the first types), a square world of side ``world``, logging off, then
    ``overrides`` (dotted keys). Raises ValueError for an unknown field or value."""
    from farm.config import SimulationConfig

    base, extra = divmod(int(agents), 3)
    counts = [base + (1 if i < extra else 0) for i in range(3)]
    changes: dict[str, Any] = {
        "seed": int(seed),
        "world.width": float(world),
        "world.height": float(world),
        "agents.system": counts[0],
        "agents.independent": counts[1],
        "agents.control": counts[2],
    }
    changes.update(overrides or {})
    return SimulationConfig().with_overrides(changes)


def run_workload(config, steps: int) -> dict[str, float]:
    """Build, run ``steps`` steps and close; returns the per-stage seconds (``sim.stage_seconds``)."""
    from farm import Simulation

    with Simulation(config) as sim:
        sim.run(steps)
        return dict(sim.stage_seconds)


def workload_command(agents: int, steps: int, world: float = 100.0, seed: int = 42) -> list[str]:
    """argv that runs the workload in a fresh interpreter."""
    return [sys.executable, "-m", "farm.profiling.workload", "--agents", str(agents), "--steps", str(steps),
            "--world", str(world), "--seed", str(seed)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the profiling workload simulation once.")
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--world", type=float, default=100.0)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    run_workload(workload_config(args.agents, args.world, args.seed), args.steps)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
