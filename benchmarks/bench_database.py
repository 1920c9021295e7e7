"""SQLite simulation log (issue 5): throughput, flush time, memory, and the three targets.

Workload: steps of 1 000 agents from ``common.step_logs`` (2 111 rows per step: 1 000
agent_states, 1 000 agent_actions, 100 interactions, 1 simulation_steps, and 100 resource
amounts every 10th step). "memory" storage is ``db_path=":memory:"``; "disk" a file in a fresh
temporary directory.

Targets (tracks that measure both sides in one process, ``common.best_of`` interleaved runs):
``Targets.track_logger_over_raw_executemany`` >= 0.6, ``Targets.track_log_step_ms`` <= 1.5,
``Targets.track_batched_over_row_at_a_time`` >= 10.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import time

from .common import best_of, memoize, require_flush_wait, step_logs

try:
    from farm.storage import StorageConfig, make_logger
except ImportError:  # a commit older than the storage package
    StorageConfig = make_logger = None
try:
    from farm.storage.schema import TABLES, create_schema
except ImportError:  # a commit older than the storage schema module
    TABLES = create_schema = None

GRID_STEPS = 20  # steps per timed run of the grid (42 220 rows)
TRACK_STEPS = 50  # steps per measured run of the tracks (105 550 rows)
# Rounds of the row-at-a-time comparison: each round commits 42 220 single-row transactions per
# storage (~0.9 s on disk), so it takes 2 rounds instead of common.BEST_OF_REPEATS (3 until the
# default selection's per-commit budget, issue 13, cut repeats: the best of two interleaved rounds).
ROW_AT_A_TIME_REPEATS = 2


@memoize
def _logs(steps: int) -> list:
    return step_logs(steps, agents=1_000, seed=5)


def _rows(logs: list) -> int:
    return sum(
        2 * len(log.agent_ids) + 1 + len(log.interaction_sources)
        + (0 if log.resource_amounts is None else len(log.resource_amounts))
        for log in logs
    )


class _Run:
    """A logger over a fresh database (temporary directory removed by ``cleanup``)."""

    def __init__(self, storage: str, **fields) -> None:
        if make_logger is None:
            raise NotImplementedError("farm.storage.make_logger is not available at this commit")
        self.directory = tempfile.mkdtemp(prefix="bench_database_")
        db_path = ":memory:" if storage == "memory" else os.path.join(self.directory, "run.db")
        try:
            config = StorageConfig(db_path=db_path, **fields)
        except TypeError as exc:  # a commit whose StorageConfig lacks these fields
            self.cleanup()
            raise NotImplementedError(f"StorageConfig does not take {sorted(fields)}: {exc}") from None
        self.logger = make_logger(config, "{}", 0)
        try:
            require_flush_wait(self.logger)
        except NotImplementedError:
            self.logger.close()
            self.cleanup()
            raise

    def log(self, logs: list) -> None:
        for log in logs:
            self.logger.log_step(log)

    def log_and_flush(self, logs: list) -> None:
        """Every step committed: the final flush and, asynchronous, the wait for the writer."""
        self.log(logs)
        self.logger.flush(wait=True)

    def log_and_close(self, logs: list) -> None:
        self.log(logs)
        self.logger.close()

    def cleanup(self) -> None:
        logger = getattr(self, "logger", None)
        if logger is not None and not logger.closed:
            logger.close()
        shutil.rmtree(self.directory, ignore_errors=True)


def _seconds(storage: str, logs: list, **fields) -> float:
    """Wall seconds from the first ``log_step`` to every step committed (not counting close)."""
    run = _Run(storage, **fields)
    try:
        started = time.perf_counter()
        run.log_and_flush(logs)
        return time.perf_counter() - started
    finally:
        run.cleanup()


def _raw_executemany_seconds(logs: list) -> float:
    """The floor: the same rows, already Python lists, one plain ``executemany`` per table and
    step into the same in-memory schema, committed every 5 steps like ``batch_size=5000``."""
    if create_schema is None:
        raise NotImplementedError("farm.storage.schema is not available at this commit")
    prepared = []
    for log in logs:
        n, step = len(log.agent_ids), log.step
        tables = {
            "agent_states": list(zip([1] * n, [step] * n, log.agent_ids.tolist(), log.positions[:, 0].tolist(),
                                      log.positions[:, 1].tolist(), log.resources.tolist(), log.health.tolist(),
                                      log.starvation.tolist(), log.rewards.tolist(), log.actions.tolist())),
            "agent_actions": list(zip([1] * n, [step] * n, log.agent_ids.tolist(), log.actions.tolist(),
                                       log.action_targets.tolist(), log.action_success.astype(int).tolist(),
                                       log.rewards.tolist())),
            "interactions": list(zip([1] * len(log.interaction_sources), [step] * len(log.interaction_sources),
                                      log.interaction_sources.tolist(), log.interaction_targets.tolist(),
                                      log.interaction_kinds.tolist(), log.interaction_amounts.tolist())),
            "simulation_steps": [(1, step, *log.population_by_type.tolist(), log.total_resources, 0, 0,
                                  log.mean_reward, log.step_duration)],
        }
        if log.resource_amounts is not None:
            m = len(log.resource_amounts)
            tables["resource_states"] = list(zip([1] * m, [step] * m, range(m), log.resource_amounts.tolist()))
        prepared.append(tables)
    statements = {name: table.insert_sql(1) for name, table in TABLES.items()}
    connection = sqlite3.connect(":memory:")
    try:
        create_schema(connection)
        started = time.perf_counter()
        for first in range(0, len(prepared), 5):
            with connection:
                for tables in prepared[first : first + 5]:
                    for name, rows in tables.items():
                        connection.executemany(statements[name], rows)
        return time.perf_counter() - started
    finally:
        connection.close()


# The storage x PRAGMA-profile cells that differ: a ':memory:' database has no journal, so every
# profile is the same there. "disk" with the memory profile writes in memory and backs up on close.
# LogGrid names this axis "database" (storage and profile together) while RowsPerSecond names its
# plain storage axis "storage": both names are history keys of the dashboard, so they stay.
DATABASES = {
    "disk-balanced": ("disk", "balanced"),
    "disk-performance": ("disk", "performance"),
    "disk-safety": ("disk", "safety"),
    "disk-memory": ("disk", "memory"),
    "memory": ("memory", "memory"),
}


class LogGrid:
    """Logging GRID_STEPS steps and closing, over the whole grid: batch size x (storage, PRAGMA
    profile) x asynchronous; one round."""

    version = 1
    params = ([100, 500, 1_000, 5_000], list(DATABASES), [False, True])
    param_names = ["batch_size", "database", "asynchronous"]
    rounds = 1
    number = 1  # the call closes the logger setup opened: one call per setup
    repeat = 2  # 40 points of ~90 ms each; 3 samples until the per-commit budget (issue 13) cut repeats
    warmup_time = 0.0
    timeout = 120

    def setup(self, batch_size, database, asynchronous):
        storage, profile = DATABASES[database]
        self.logs = _logs(GRID_STEPS)
        self.run = _Run(storage, batch_size=batch_size, pragma_profile=profile, asynchronous=asynchronous)

    def teardown(self, *params):
        if hasattr(self, "run"):
            self.run.cleanup()

    def time_log_and_close(self, batch_size, database, asynchronous):
        self.run.log_and_close(self.logs)


class RowsPerSecond:
    """Rows per second of the logger against the raw ``executemany`` floor (in memory)."""

    version = 1
    params = ([100, 5_000], ["memory", "disk"], [False, True])
    param_names = ["batch_size", "storage", "asynchronous"]
    unit = "rows/s"
    rounds = 1
    timeout = 120

    def setup(self, batch_size, storage, asynchronous):
        self.logs = _logs(GRID_STEPS)

    def track_logger_rows_per_second(self, batch_size, storage, asynchronous):
        seconds = best_of(lambda: _seconds(storage, self.logs, batch_size=batch_size, asynchronous=asynchronous))
        return _rows(self.logs) / seconds


class RawExecutemanyFloor:
    """The floor row: the same rows through plain ``executemany`` with no logger (in memory)."""

    version = 1
    unit = "rows/s"
    rounds = 1

    def setup(self):
        self.logs = _logs(GRID_STEPS)

    def track_raw_executemany_rows_per_second(self):
        return _rows(self.logs) / best_of(lambda: _raw_executemany_seconds(self.logs))


class FlushTime:
    """One flush: the ``log_step`` call that fills a table to ``batch_size`` rows and writes the
    buffered steps (ceil(batch_size / 1000) steps), balanced profile on disk."""

    version = 1
    params = [100, 500, 1_000, 5_000]
    param_names = ["batch_size"]
    number = 1  # the call flushes the buffer setup filled: one call per setup
    repeat = 5
    warmup_time = 0.0

    def setup(self, batch_size):
        logs = _logs(TRACK_STEPS)
        steps_to_fill = -(-batch_size // 1_000)
        self.run = _Run("disk", batch_size=batch_size, flush_interval=10**6)
        self.run.log(logs[: steps_to_fill - 1])
        self.last = logs[steps_to_fill - 1]

    def teardown(self, batch_size):
        if hasattr(self, "run"):
            self.run.cleanup()

    def time_flushing_log_step(self, batch_size):
        self.run.logger.log_step(self.last)


class CloseTime:
    """``close()`` after TRACK_STEPS committed steps: status, per-agent index build, WAL
    checkpoint (balanced profile on disk)."""

    version = 1
    number = 1  # the call closes the logger setup opened: one call per setup
    repeat = 5
    warmup_time = 0.0

    def setup(self):
        self.run = _Run("disk", batch_size=5_000)
        self.run.log_and_flush(_logs(TRACK_STEPS))

    def teardown(self):
        if hasattr(self, "run"):
            self.run.cleanup()

    def time_close(self):
        self.run.logger.close()


class PeakMemory:
    """Peak RSS while logging TRACK_STEPS steps to disk (performance profile) per buffer size."""

    version = 1
    params = [100, 1_000, 5_000, 50_000]
    param_names = ["batch_size"]

    def setup(self, batch_size):
        self.logs = _logs(TRACK_STEPS)
        self.run = _Run("disk", batch_size=batch_size, pragma_profile="performance", flush_interval=10**6)

    def teardown(self, batch_size):
        if hasattr(self, "run"):
            self.run.cleanup()

    def peakmem_log_and_close(self, batch_size):
        self.run.log_and_close(self.logs)


class PeakMemoryReference:
    """The floor of ``PeakMemory``: the same process and data, nothing logged."""

    version = 1

    def setup(self):
        self.logs = _logs(TRACK_STEPS)

    def peakmem_reference(self):
        pass


def _row_over_batched(storage: str, logs: list) -> float:
    batched, rows = best_of(
        lambda: _seconds(storage, logs, batch_size=5_000),
        lambda: _seconds(storage, logs, batch_size=5_000, write_mode="row_at_a_time"),
        repeat=ROW_AT_A_TIME_REPEATS,
    )
    return rows / batched


class Targets:
    """The issue's three targets, each side measured in this process, best of interleaved runs."""

    version = 1
    rounds = 1
    timeout = 180

    def setup(self):
        self.logs = _logs(TRACK_STEPS)

    def track_logger_over_raw_executemany(self):
        """Logger rows/s (batched, batch_size 5000, in memory) over the raw floor's (>= 0.6)."""
        logger, raw = best_of(lambda: _seconds("memory", self.logs, batch_size=5_000),
                              lambda: _raw_executemany_seconds(self.logs))
        return raw / logger

    track_logger_over_raw_executemany.unit = "ratio"

    def track_log_step_ms(self):
        """Milliseconds per logged step of 1 000 agents, flushes included (default balanced
        profile on disk, batch_size 5000, synchronous) (<= 1.5)."""
        seconds = best_of(lambda: _seconds("disk", self.logs, batch_size=5_000))
        return 1e3 * seconds / len(self.logs)

    track_log_step_ms.unit = "ms"

    def track_log_step_ms_in_memory(self):
        """As ``track_log_step_ms`` with an in-memory database."""
        seconds = best_of(lambda: _seconds("memory", self.logs, batch_size=5_000))
        return 1e3 * seconds / len(self.logs)

    track_log_step_ms_in_memory.unit = "ms"

    def track_batched_over_row_at_a_time(self):
        """Seconds row-at-a-time (unbuffered, one committed INSERT per row) over seconds batched,
        same rows, default balanced profile on disk, batch_size 5000 (>= 10)."""
        return _row_over_batched("disk", self.logs[:GRID_STEPS])

    track_batched_over_row_at_a_time.unit = "ratio"

    def track_batched_over_row_at_a_time_in_memory(self):
        """As ``track_batched_over_row_at_a_time`` with an in-memory database (no journal I/O,
        so only sqlite's per-transaction work separates the two modes)."""
        return _row_over_batched("memory", self.logs[:GRID_STEPS])

    track_batched_over_row_at_a_time_in_memory.unit = "ratio"


# --- bytes written and syncs per step, per PRAGMA profile (issue 16) ---------------------------
# Self-contained (own helpers and constants) so that edits to the classes above never change
# what these measure.

import json as _json  # noqa: E402
import subprocess as _subprocess  # noqa: E402
import sys as _sys  # noqa: E402
from concurrent.futures import ThreadPoolExecutor as _ThreadPool  # noqa: E402

IO_PROFILES = ["balanced", "performance", "safety", "memory"]
IO_STEPS = 100  # logged steps of 1 000 agents (about 211 000 rows)

# Runs in a fresh interpreter: open a log on disk with the profile, log the steps, close; prints
# the bytes handed to write()/pwrite() (/proc/self/io "wchar") and the file sizes after close.
_IO_CHILD = """
import json, os, sys
from benchmarks.common import step_logs
from farm.storage import StorageConfig, make_logger

profile, steps, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
logs = step_logs(steps, agents=1_000, seed=5) if steps else []

def wchar():
    with open("/proc/self/io") as handle:
        return int(next(line for line in handle if line.startswith("wchar:")).split()[1])

start = wchar()
logger = make_logger(StorageConfig(db_path=path, pragma_profile=profile), "{}", 0)
for log in logs:
    logger.log_step(log)
logger.close("completed")
written = wchar() - start
size = sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))
print(json.dumps({"written": written, "size": size}))
"""


def _strace_syncs(report: str) -> int:
    """fsync + fdatasync calls in an ``strace -c`` summary."""
    total = 0
    for line in report.splitlines():
        fields = line.split()
        if fields and fields[-1] in ("fsync", "fdatasync"):
            total += int(fields[3])
    return total


def _strace_command() -> list[str] | None:
    """The strace words to prefix a counted child with, or None where strace is missing or ptrace
    is not permitted. With ``--seccomp-bpf`` (strace >= 5.3) the child stops only at the traced
    sync calls instead of at every system call: the same counts, about 1 s less per profile."""
    strace = shutil.which("strace")
    if strace is None:
        return None
    for words in ([strace, "--seccomp-bpf"], [strace]):
        try:
            _subprocess.run([*words, "-f", "-c", "-e", "trace=fsync,fdatasync", "-o", os.devnull, "true"],
                            check=True, capture_output=True, timeout=30)
            return words
        except (OSError, _subprocess.SubprocessError):  # an older strace, or ptrace not permitted here
            continue
    return None


def _io_run(profile: str, steps: int, strace: list[str] | None) -> dict:
    """One child run in a fresh directory: ``{"written", "size", "syncs"}`` (syncs None without
    strace)."""
    directory = tempfile.mkdtemp(prefix="bench_database_io_")
    try:
        path = os.path.join(directory, "run.db")
        # The child imports ``benchmarks.common``: the folder above this module comes first.
        here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([here, *(p for p in _sys.path if p)]))
        command = [_sys.executable, "-c", _IO_CHILD, profile, str(steps), path]
        trace = os.path.join(directory, "strace.txt")
        if strace:
            command = [*strace, "-f", "-c", "-e", "trace=fsync,fdatasync", "-o", trace] + command
        done = _subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=True)
        out = _json.loads(done.stdout.strip().splitlines()[-1])
        out["syncs"] = None
        if strace:
            with open(trace) as handle:
                out["syncs"] = _strace_syncs(handle.read())
        return out
    finally:
        shutil.rmtree(directory, ignore_errors=True)


class WriteAmplification:
    """What logging 1 000 agents costs the disk per step, for each PRAGMA profile.

    Each figure is the difference between a child process that logs 100 steps and one that only
    opens and closes the log (schema creation, run row, close), divided by 100, so it is the
    marginal cost of a step, close-time checkpoint and backup included:

    * ``track_bytes_written_per_step``: bytes sqlite handed to ``write``/``pwrite`` (the process's
      ``wchar`` in ``/proc/self/io``): journal, WAL and checkpoint writes all count, whatever the
      file system caches;
    * ``track_file_bytes_per_step``: growth of the database + WAL files on disk after close;
    * ``track_syncs_per_step``: ``fsync`` + ``fdatasync`` calls, counted by ``strace -f -c``
      (sqlite's VFS cannot be hooked from Python; NaN where strace is missing or not permitted).

    Linux only (``/proc/self/io``); skipped elsewhere.
    """

    version = 1
    params = [IO_PROFILES]
    param_names = ["profile"]
    rounds = 1
    repeat = 1
    number = 1
    timeout = 600

    def setup_cache(self):
        if make_logger is None or not os.path.exists("/proc/self/io"):  # never None (asv_runner drops it)
            return {"skip": "the storage API or /proc/self/io is not available"}
        strace = _strace_command()
        # The eight children count their own bytes and syncs, which other processes do not change:
        # they run one per core at once (about 5 s one after another on the 2-core reference).
        runs = [(profile, steps) for profile in IO_PROFILES for steps in (0, IO_STEPS)]
        with _ThreadPool(max_workers=max(1, min(len(runs), os.cpu_count() or 1))) as pool:
            pending = {run: pool.submit(_io_run, run[0], run[1], strace) for run in runs}
        out = {}
        for profile in IO_PROFILES:
            try:
                empty, full = pending[profile, 0].result(), pending[profile, IO_STEPS].result()
            except _subprocess.CalledProcessError as exc:  # e.g. a commit without this profile
                tail = exc.stderr.strip().splitlines()[-1:] if exc.stderr else []
                out[profile] = {"failed": tail[0] if tail else f"exit status {exc.returncode}"}
                continue
            out[profile] = {
                "written": (full["written"] - empty["written"]) / IO_STEPS,
                "size": (full["size"] - empty["size"]) / IO_STEPS,
                "syncs": float("nan") if strace is None else (full["syncs"] - empty["syncs"]) / IO_STEPS,
            }
        return out

    setup_cache.timeout = 600

    def setup(self, cache, profile):
        if "skip" in cache:
            raise NotImplementedError(cache["skip"])
        if "failed" in cache.get(profile, {"failed": "not run"}):
            raise NotImplementedError(f"profile {profile!r}: {cache.get(profile, {}).get('failed')}")

    def track_bytes_written_per_step(self, cache, profile):
        return cache[profile]["written"]

    track_bytes_written_per_step.unit = "bytes"

    def track_file_bytes_per_step(self, cache, profile):
        return cache[profile]["size"]

    track_file_bytes_per_step.unit = "bytes"

    def track_syncs_per_step(self, cache, profile):
        return cache[profile]["syncs"]

    track_syncs_per_step.unit = "syncs"
