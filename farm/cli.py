"""Command line: ``python run_simulation.py``, ``python -m farm`` and the ``agentfarm`` script."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from farm.config import SimulationConfig, load_config
from farm.core.simulation import Simulation
from farm.storage import open_run
from farm.utils.profiling_utils import monitor_resources

__all__ = ["main", "build_parser", "config_from_args"]

_AGENT_TYPES = ("system", "independent", "control")


class _OneLineParser(argparse.ArgumentParser):
    """Reports bad flags as one line on stderr with exit code 2 (no usage dump)."""

    def error(self, message: str):  # noqa: D401 - argparse API
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(prog="run_simulation", description="Run an AgentFarm simulation.")
    parser.add_argument("--steps", type=int, default=1000, help="steps to run (default 1000)")
    parser.add_argument("--agents", default=None,
                        help="total agent count split evenly over the three types, or "
                             "'system=N,independent=N,control=N' (default: the config's, 30)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: the config's, 0)")
    parser.add_argument("--world-size", default=None,
                        help="world extent: 'S' for SxS or 'WxH' (default: the config's, 100x100)")
    parser.add_argument("--preset", default=None, metavar="NAME",
                        help="a named workload: 'agentfarm' (13 channels, DDQN, SQLite log) or 'light' "
                             "(the defaults); --config and flags apply on top")
    parser.add_argument("--config", default=None, help="TOML or JSON config file; flags override it")
    parser.add_argument("--db", default="simulation.db",
                        help="SQLite log path, ':memory:', or 'none' to log nothing (default simulation.db)")
    parser.add_argument("--policy", default=None, metavar="KIND",
                        help="policy of every agent type: random, rule, ddqn or ppo (default: the config's)")
    for name in _AGENT_TYPES:
        parser.add_argument(f"--policy-{name}", default=None, metavar="KIND",
                            help=f"policy of the {name} agents (overrides --policy)")
    parser.add_argument("--perf-profile", action="store_true",
                        help="run under cProfile: write a .prof file and print the top-20 hotspots")
    parser.add_argument("--profile-out", default="simulation.prof", help="where --perf-profile writes its .prof")
    parser.add_argument("--no-progress", action="store_true", help="do not draw the progress bar")
    return parser


def _parse_agents(text: str) -> dict[str, int]:
    if "=" not in text:
        total = _int("--agents", text)
        if total <= 0:
            raise ValueError(f"--agents must be positive, got {text!r}")
        base, extra = divmod(total, 3)
        return {name: base + (1 if i < extra else 0) for i, name in enumerate(_AGENT_TYPES)}
    counts = {name: 0 for name in _AGENT_TYPES}
    for part in text.split(","):
        name, _, value = part.partition("=")
        name = name.strip().lower()
        if name not in counts:
            raise ValueError(f"unknown agent type {name!r} in --agents (known: {', '.join(_AGENT_TYPES)})")
        counts[name] = _int(f"--agents {name}", value)
    return counts


def _int(flag: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{flag} must be an integer, got {text!r}") from None


def _parse_world(text: str) -> tuple[float, float]:
    parts = text.lower().split("x")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"--world-size must be 'S' or 'WxH', got {text!r}") from None
    if len(values) == 1:
        values *= 2
    if len(values) != 2 or min(values) <= 0:
        raise ValueError(f"--world-size must be positive 'S' or 'WxH', got {text!r}")
    return values[0], values[1]


def config_from_args(args: argparse.Namespace) -> SimulationConfig:
    """The run's config: the file (or defaults) with the flags applied on top."""
    config = load_config(args.config) if args.config else SimulationConfig()
    if args.preset is not None:
        from farm.presets import preset_overrides

        # The preset replaces the defaults; what the config file sets differently from the
        # defaults still wins over the preset.
        preset_base = SimulationConfig().with_overrides(preset_overrides(args.preset))
        config = preset_base.with_overrides(_changed_fields(SimulationConfig(), config)) if args.config else preset_base
    overrides: dict[str, object] = {}
    if args.agents is not None:
        overrides.update({f"agents.{k}": v for k, v in _parse_agents(args.agents).items()})
    if args.seed is not None:
        overrides["seed"] = args.seed
    if args.world_size is not None:
        overrides["world.width"], overrides["world.height"] = _parse_world(args.world_size)
    for name in _AGENT_TYPES:
        kind = getattr(args, f"policy_{name}") or args.policy
        if kind is not None:
            overrides[f"decision.{name}"] = kind
    db = None if args.db.lower() == "none" else args.db
    overrides["storage.db_path"] = db
    return config.with_overrides(overrides)


def _changed_fields(default: SimulationConfig, config: SimulationConfig) -> dict[str, object]:
    """Dotted keys where ``config`` differs from ``default``."""
    from farm.config import config_to_dict

    out: dict[str, object] = {}

    def walk(a: dict, b: dict, prefix: str) -> None:
        for key, value in b.items():
            if isinstance(value, dict):
                walk(a[key], value, f"{prefix}{key}.")
            elif a[key] != value:
                out[prefix + key] = value

    walk(config_to_dict(default), config_to_dict(config), "")
    return out


class _ProgressBar:
    """A one-line bar on stderr, redrawn at most every 1 % of the run."""

    def __init__(self, stream=sys.stderr, width: int = 30) -> None:
        self.stream, self.width, self.last = stream, width, -1
        self.start = time.perf_counter()

    def __call__(self, done: int, total: int) -> None:
        percent = done * 100 // total
        if percent == self.last and done != total:
            return
        self.last = percent
        filled = self.width * done // total
        rate = done / max(time.perf_counter() - self.start, 1e-9)
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {done}/{total} steps {rate:,.0f} steps/s")
        if done == total:
            self.stream.write("\n")
        self.stream.flush()


def _run(config: SimulationConfig, steps: int, show_progress: bool):
    progress = _ProgressBar() if show_progress else None
    with Simulation(config) as sim:
        return sim.run(steps, progress)


def _run_profiled(config: SimulationConfig, steps: int, show_progress: bool, prof_path: str):
    from farm.profiling.cprofile_runner import format_hotspot_table, profile_call

    result = profile_call(lambda: _run(config, steps, show_progress), prof_path, limit=20)
    text = (
        f"cProfile written to {prof_path} (view with: snakeviz {prof_path})\n\n"
        f"{format_hotspot_table(result.by_cumulative, 'Top 20 by cumulative time:')}\n\n"
        f"{format_hotspot_table(result.by_self, 'Top 20 by self time:')}\n"
    )
    return result.value, text


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    prog = "run_simulation"
    try:
        if args.steps <= 0:
            raise ValueError(f"--steps must be positive, got {args.steps}")
        config = config_from_args(args)
        if args.perf_profile:
            Path(args.profile_out).parent.mkdir(parents=True, exist_ok=True)
        show_progress = not args.no_progress and args.steps >= 100
        with monitor_resources("run") as monitor:
            if args.perf_profile:
                summary, report = _run_profiled(config, args.steps, show_progress, args.profile_out)
            else:
                summary = _run(config, args.steps, show_progress)
        if args.perf_profile:
            print(report)
    except ValueError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; the log was flushed and the run marked 'interrupted'", file=sys.stderr)
        return 130
    population_by_type, db = summary.population_by_type, "none"
    if summary.db_path:
        db = f"{summary.db_path} (run {summary.run_id})"
        if Path(summary.db_path).is_file():  # read back what the log holds (not for ':memory:')
            with open_run(summary.db_path, summary.run_id) as run:
                population_by_type = run.final_population() or population_by_type
                db = f"{summary.db_path} (run {summary.run_id}, {sum(run.row_counts().values())} rows)"
    population = " ".join(f"{name}={count}" for name, count in population_by_type.items())
    usage = monitor.result
    print(f"wall={usage.wall_seconds:.2f}s cpu={usage.cpu_percent:.0f}% peak_rss={usage.peak_rss_bytes / 1024**2:.1f}MiB "
          f"rss_delta={usage.rss_delta_bytes / 1024**2:+.1f}MiB")
    print(f"steps={summary.steps} steps/s={summary.steps_per_second:.1f} population: {population} db={db}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
