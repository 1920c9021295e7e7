"""The simulation every profiler runs.

A seeded config by agent count and preset, and a command-line entry
(``python -m farm.profiling.workload``) for profilers that watch a separate process (py-spy).
"""

from __future__ import annotations

import argparse
import atexit
import shutil
import sys
import tempfile
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["LIGHT", "AGENTFARM", "workload_config", "run_workload", "workload_command", "main"]

# Preset names (farm.presets.Preset values): the engine defaults, and the workload users run.
LIGHT = "light"
AGENTFARM = "agentfarm"


@lru_cache(maxsize=1)
def _scratch_dir() -> Path:
    """A temporary directory for the preset's log files, removed when the interpreter exits."""
    path = Path(tempfile.mkdtemp(prefix="farm-profiling-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def workload_config(agents: int, world: float = 100.0, seed: int = 42, overrides: Mapping[str, Any] | None = None,
                    preset: str = LIGHT):
    """The seeded simulation config of the profiling workload.

    A :class:`farm.SimulationConfig`: ``preset`` with ``agents`` split evenly over the three
    agent types (remainder to the first types), a square world of side ``world``, then
    ``overrides`` (dotted keys).

    ``"light"``: the default configuration (random policy, 4 channels), logging off.
    ``"agentfarm"``: the AgentFarm preset (13 channels, DDQN learning, SQLite log); its log goes to
    a file in a temporary directory removed at exit (each run appends a run to it), unless
    ``overrides`` set ``storage.db_path``. Raises ValueError for an unknown field or value, and
    NotImplementedError for a preset this build lacks.
    """
    from farm.config import SimulationConfig

    if preset == LIGHT:
        base_config = SimulationConfig()
    elif hasattr(SimulationConfig, "preset"):
        base_config = SimulationConfig.preset(preset)
    else:
        raise NotImplementedError(f"preset {preset!r} is not available in this build")

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
    db_path = base_config.storage.db_path
    if db_path is not None and db_path != ":memory:":
        changes["storage.db_path"] = str(_scratch_dir() / "workload.db")
    changes.update(overrides or {})
    return base_config.with_overrides(changes)


def run_workload(config, steps: int) -> dict[str, float]:
    """Build, run ``steps`` steps and close; returns the per-stage seconds (``sim.stage_seconds``)."""
    from farm import Simulation

    with Simulation(config) as sim:
        sim.run(steps)
        return dict(sim.stage_seconds)


def workload_command(agents: int, steps: int, world: float = 100.0, seed: int = 42, preset: str = LIGHT) -> list[str]:
    """Argv that runs the workload in a fresh interpreter."""
    return [sys.executable, "-m", "farm.profiling.workload", "--agents", str(agents), "--steps", str(steps),
            "--world", str(world), "--seed", str(seed), "--preset", preset]


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry: run the workload simulation once (for profilers of a separate process).

    Args:
        argv: command-line arguments (None: ``sys.argv[1:]``).

    Returns:
        0.
    """
    parser = argparse.ArgumentParser(description="Run the profiling workload simulation once.")
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--world", type=float, default=100.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--preset", default=LIGHT, choices=(LIGHT, AGENTFARM))
    args = parser.parse_args(argv)
    run_workload(workload_config(args.agents, args.world, args.seed, preset=args.preset), args.steps)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
