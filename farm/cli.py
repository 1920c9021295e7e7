"""Command line: ``python run_simulation.py``, ``python -m farm`` and the ``agentfarm`` script.

Settings come in layers, each over the one before: the CLI's defaults (the engine's, with the
log written to ``simulation.db``) < ``--preset`` < ``--config`` file < the flags actually given.

Failures caused by the input or the environment (a bad value, a file that cannot be written, a
configuration that cannot fit in memory, a full disk) end with one line on stderr and exit code
2; anything else is a bug and keeps its traceback. Ctrl-C (SIGINT) and SIGTERM end the run at
the next step boundary: every finished step is flushed, the run is marked ``interrupted``, and
the exit code is 130 (SIGINT) or 143 (SIGTERM). A signal while the log closes after the last step
waits for the close (the run is marked ``completed``); a second signal raises at once.
"""

from __future__ import annotations

import argparse
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from farm import preflight
from farm.config import (
    SimulationConfig,
    apply_overrides,
    config_from_dict,
    config_to_dict,
    load_config_data,
    merge_config_data,
)
from farm.core.simulation import Simulation
from farm.core.state import NUM_AGENT_TYPES, AgentType
from farm.storage import open_run
from farm.utils.profiling_utils import monitor_resources

__all__ = ["CLI_DEFAULTS", "Terminated", "build_parser", "config_from_args", "main"]

PROG = "run_simulation"
_AGENT_TYPES = tuple(agent_type.name.lower() for agent_type in AgentType)

# Defaults of the flags that are not config fields; filled in after parsing, so that "not given"
# stays visible (None) to the layering.
DEFAULT_STEPS = 1000
DEFAULT_DB = "simulation.db"
DEFAULT_PROFILE_OUT = "simulation.prof"
# The CLI's own layer under preset, file and flags: the engine defaults, logged to simulation.db.
CLI_DEFAULTS: dict[str, object] = {"storage.db_path": DEFAULT_DB}

# Errors caused by the input or the environment: one line, exit 2. Others are bugs.
INPUT_ERRORS = (ValueError, OSError, MemoryError, OverflowError, sqlite3.Error)
EXIT_INPUT_ERROR = 2
EXIT_SIGINT = 128 + signal.SIGINT  # 130
EXIT_SIGTERM = 128 + signal.SIGTERM  # 143
# A run whose memory estimate is above this says so before it starts building.
NOTICE_BYTES = 1 << 30


class Terminated(KeyboardInterrupt):
    """Raised for SIGTERM: a KeyboardInterrupt, so the run is closed as ``interrupted``."""


class InterruptedWhileClosing(KeyboardInterrupt):
    """A signal that came while the log closed after the last step.

    The run had finished and was closed, every step flushed, as ``completed``; the CLI still
    exits with the signal's code.
    """

    def __init__(self, terminated: bool) -> None:
        super().__init__("SIGTERM" if terminated else "SIGINT")
        self.terminated = terminated


class _OneLineParser(argparse.ArgumentParser):
    """Reports bad flags as one line on stderr with exit code 2 (no usage dump)."""

    def error(self, message: str):
        self.exit(EXIT_INPUT_ERROR, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The flags. Every default is None ("not given"); :func:`main` fills in the real ones."""
    parser = _OneLineParser(prog=PROG, description="Run an AgentFarm simulation.")
    parser.add_argument("--steps", type=int, default=None, help=f"steps to run (default {DEFAULT_STEPS})")
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
    parser.add_argument("--db", default=None,
                        help=f"SQLite log path, ':memory:', or 'none' to log nothing (default: the config's, "
                             f"else {DEFAULT_DB})")
    parser.add_argument("--policy", default=None, metavar="KIND",
                        help="policy of every agent type: random, rule, ddqn or ppo (default: the config's)")
    for name in _AGENT_TYPES:
        parser.add_argument(f"--policy-{name}", default=None, metavar="KIND",
                            help=f"policy of the {name} agents (overrides --policy)")
    parser.add_argument("--perf-profile", action="store_true",
                        help="run under cProfile: write a .prof file and print the top-20 hotspots")
    parser.add_argument("--profile-out", default=None,
                        help=f"where --perf-profile writes its .prof (default {DEFAULT_PROFILE_OUT})")
    parser.add_argument("--no-progress", action="store_true", help="do not draw the progress bar")
    return parser


def _parse_agents(text: str) -> dict[str, int]:
    """``'N'`` -> N split evenly over the types; ``'system=N,...'`` -> only the types named."""
    if "=" not in text:
        total = _int("--agents", text)
        if total <= 0:
            raise ValueError(f"--agents must be positive, got {text!r}")
        base, extra = divmod(total, NUM_AGENT_TYPES)
        return {name: base + (1 if i < extra else 0) for i, name in enumerate(_AGENT_TYPES)}
    counts: dict[str, int] = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        name = name.strip().lower()
        if name not in _AGENT_TYPES:
            raise ValueError(f"unknown agent type {name!r} in --agents (known: {', '.join(_AGENT_TYPES)})")
        counts[name] = _int(f"--agents {name}", value.strip())
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
    """The run's config: CLI defaults < ``--preset`` < ``--config`` file < the flags given.

    The layers are laid over each other as raw tables and the result is validated once, so a
    layer may leave a setting that only a later one makes valid (a file's ``persist_path`` with
    ``--db :memory:``, a file's zero agents with ``--agents 30``).
    """
    data = config_to_dict(SimulationConfig())
    apply_overrides(data, CLI_DEFAULTS)
    if args.preset is not None:
        from farm.presets import preset_overrides

        apply_overrides(data, preset_overrides(args.preset))
    if args.config is not None:
        data = merge_config_data(data, load_config_data(args.config))
    apply_overrides(data, flag_overrides(args))
    return config_from_dict(SimulationConfig, data)


def flag_overrides(args: argparse.Namespace) -> dict[str, object]:
    """Dotted config overrides of the flags actually given (None means "not given")."""
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
    if args.db is not None:
        overrides["storage.db_path"] = None if args.db.lower() == "none" else args.db
    return overrides


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


class _Interrupts:
    """SIGINT and SIGTERM as KeyboardInterrupt, delivered at step boundaries while a run loops.

    Inside :meth:`deferred` the first signal is only recorded, and :meth:`raise_pending` (called
    after every step) raises it, so a step is never cut in half and every finished step reaches
    the log. A second signal, or one outside the loop, raises at once.
    """

    def __init__(self) -> None:
        self.pending: KeyboardInterrupt | None = None
        self.deferring = False

    def handle(self, signum: int, _frame) -> None:
        error = Terminated("SIGTERM") if signum == signal.SIGTERM else KeyboardInterrupt()
        if self.deferring and self.pending is None:
            self.pending = error
            return
        raise error

    def raise_pending(self) -> None:
        if self.pending is not None:
            error, self.pending = self.pending, None
            self.deferring = False
            raise error

    def raise_pending_after_close(self) -> None:
        """Raise a signal that came while the log closed as :class:`InterruptedWhileClosing`."""
        if self.pending is not None:
            terminated, self.pending = isinstance(self.pending, Terminated), None
            raise InterruptedWhileClosing(terminated)

    @contextmanager
    def deferred(self) -> Iterator[None]:
        self.deferring = True
        try:
            yield
        finally:
            self.deferring = False

    @contextmanager
    def installed(self) -> Iterator[_Interrupts]:
        """Install the handlers for the block (main thread only; elsewhere signals stay as they are)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {sig: signal.signal(sig, self.handle) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield self
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _run(config: SimulationConfig, steps: int, show_progress: bool, interrupts: _Interrupts):
    bar = _ProgressBar() if show_progress else None

    def progress(done: int, total: int) -> None:
        if bar is not None:
            bar(done, total)
        interrupts.raise_pending()

    sim = Simulation(config)  # a signal while it builds raises at once: no step has run
    # The signals stay deferred until the log has closed (sim's exit): a first signal cannot cut
    # the close short, which would lose the batches still queued for the log's writer.
    with interrupts.deferred(), sim:
        summary = sim.run(steps, progress)
        interrupts.raise_pending()  # a signal after the last step still ends the run as interrupted
    interrupts.raise_pending_after_close()
    return summary


def _run_profiled(config: SimulationConfig, steps: int, show_progress: bool, interrupts: _Interrupts, prof_path: str):
    from farm.profiling.cprofile_runner import format_hotspot_table, profile_call

    result = profile_call(lambda: _run(config, steps, show_progress, interrupts), prof_path, limit=20)
    text = (
        f"cProfile written to {prof_path} (view with: snakeviz {prof_path})\n\n"
        f"{format_hotspot_table(result.by_cumulative, 'Top 20 by cumulative time:')}\n\n"
        f"{format_hotspot_table(result.by_self, 'Top 20 by self time:')}\n"
    )
    return result.value, text


def _input_error(exc: BaseException) -> BaseException | None:
    """``exc`` or the first error of its ``raise ... from`` chain caused by input or environment.

    E.g. the sqlite error behind the background writer's RuntimeError. Only explicit causes
    count: a bug raised while handling an OSError is still a bug. None when there is no such
    error.
    """
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, INPUT_ERRORS):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__
    return None


def _one_line(exc: BaseException) -> str:
    """The error as one line: OSErrors as 'strerror: filename', memory errors marked as such."""
    if isinstance(exc, OSError) and exc.strerror:
        names = [repr(str(n)) for n in (exc.filename, exc.filename2) if n is not None]
        text = f"{exc.strerror}: {' -> '.join(names)}" if names else exc.strerror
    else:
        text = str(exc) or type(exc).__name__
    if isinstance(exc, MemoryError) and not text.startswith("not enough memory"):
        text = f"out of memory: {text}"
    elif isinstance(exc, sqlite3.Error):
        text = f"sqlite: {text}"
    return " ".join(text.split())


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0, 2 for bad input, 130 / 143 when interrupted)."""
    args = build_parser().parse_args(argv)
    with _Interrupts().installed() as interrupts:
        try:
            return _main(args, interrupts)
        except InterruptedWhileClosing as exc:
            signal_name = "terminated (SIGTERM)" if exc.terminated else "interrupted"
            print(f"{PROG}: {signal_name} while the log was closing; every step was flushed and the run "
                  "marked 'completed'", file=sys.stderr)
            return EXIT_SIGTERM if exc.terminated else EXIT_SIGINT
        except Terminated:
            print(f"{PROG}: terminated (SIGTERM); finished steps were flushed and the run marked 'interrupted'",
                  file=sys.stderr)
            return EXIT_SIGTERM
        except KeyboardInterrupt:
            print(f"{PROG}: interrupted; finished steps were flushed and the run marked 'interrupted'",
                  file=sys.stderr)
            return EXIT_SIGINT
        except Exception as exc:
            cause = _input_error(exc)
            if cause is None:
                raise
            print(f"{PROG}: error: {_one_line(cause)}", file=sys.stderr)
            return EXIT_INPUT_ERROR


def _main(args: argparse.Namespace, interrupts: _Interrupts) -> int:
    steps = DEFAULT_STEPS if args.steps is None else args.steps
    if steps <= 0:
        raise ValueError(f"--steps must be positive, got {steps}")
    profile_out = DEFAULT_PROFILE_OUT if args.profile_out is None else args.profile_out
    config = config_from_args(args)
    estimate = preflight.check(config, [("--profile-out", profile_out)] if args.perf_profile else [])
    if estimate > NOTICE_BYTES:
        print(f"{PROG}: building a run of {config.agents.total} agents that needs "
              f"~{preflight.format_bytes(estimate)}; this may take a while", file=sys.stderr)
    if args.perf_profile:
        Path(profile_out).parent.mkdir(parents=True, exist_ok=True)
    show_progress = not args.no_progress and steps >= 100
    with monitor_resources("run") as monitor:
        if args.perf_profile:
            summary, report = _run_profiled(config, steps, show_progress, interrupts, profile_out)
        else:
            summary = _run(config, steps, show_progress, interrupts)
    if args.perf_profile:
        print(report)
    population_by_type, db = summary.population_by_type, "none"
    if summary.db_path:
        db = f"{summary.db_path} (run {summary.run_id})"
        if Path(summary.db_path).is_file():  # read back what the log holds (not for ':memory:')
            with open_run(summary.db_path, summary.run_id) as run:
                population_by_type = run.final_population() or population_by_type
                db = f"{summary.db_path} (run {summary.run_id}, {sum(run.row_counts().values())} rows)"
    population = " ".join(f"{name}={count}" for name, count in population_by_type.items())
    usage = monitor.result
    print(usage.summary_line())
    print(f"steps={summary.steps} steps/s={summary.steps_per_second:.1f} population: {population} db={db}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
