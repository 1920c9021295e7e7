"""Crash safety of a real run, in subprocesses: kill -9 in the middle of a background flush and of
the in-memory profile's backup to disk, SIGINT and SIGTERM in the middle of a CLI run.

Each case checks what a reader of the log relies on: ``PRAGMA integrity_check`` is ok, the steps
in the log are exactly ``0..last_step`` with every row of each (the population logged for each
step equals the one the same run computes in-process), and the run's status says how it ended.
The kill lands "during" the operation by construction: a watcher thread in the child sends
SIGKILL to its own process only once the writer's connection is inside a write transaction (or
the backup's journal exists), and the test checks that it did.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def _env() -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    env.pop("PYTHONSAFEPATH", None)
    return env


def _true_populations(overrides: dict, steps: int) -> np.ndarray:
    """``(steps, 3)`` population by type after each step, from the same run built in-process."""
    from farm import Simulation, SimulationConfig

    engine = {key: value for key, value in overrides.items() if not key.startswith("storage.")}
    config = SimulationConfig().with_overrides(engine)
    with Simulation(config) as sim:
        return np.array([sim.step().population_by_type for _ in range(steps)])


def _assert_every_committed_step(path: Path, run_id: int, overrides: dict, initial: int) -> int:
    """Integrity ok, steps ``0..last_step`` complete and equal to the in-process run; returns last_step."""
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        (last,) = conn.execute("SELECT last_step FROM simulations WHERE id = ?", (run_id,)).fetchone()
        assert last is not None and last >= 0, "nothing was committed"
        steps = [
            r[0] for r in conn.execute("SELECT step FROM simulation_steps WHERE run_id = ? ORDER BY step", (run_id,))
        ]
        assert steps == list(range(last + 1))
        logged = np.array(conn.execute(
            "SELECT population_system, population_independent, population_control FROM simulation_steps "
            "WHERE run_id = ? ORDER BY step", (run_id,)).fetchall())
        per_step = dict(conn.execute(
            "SELECT step, COUNT(*) FROM agent_states WHERE run_id = ? GROUP BY step", (run_id,)).fetchall())
    assert np.array_equal(logged, _true_populations(overrides, last + 1))
    # agent_states of step s hold one row per agent alive when step s began.
    acting = [initial, *logged.sum(axis=1)[:-1].tolist()]
    assert [per_step.get(s, 0) for s in range(last + 1)] == acting
    assert set(per_step) <= set(range(last + 1))  # nothing of the batch in flight
    return last


def _status(path: Path, run_id: int) -> str:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT status FROM simulations WHERE id = ?", (run_id,)).fetchone()[0]


_FLUSH_CHILD = r"""
import os, signal, sys, threading, time
sys.path.insert(0, {root!r})
from farm import Simulation, SimulationConfig

config = SimulationConfig().with_overrides({overrides!r})
sim = Simulation(config)
logger = sim.logger

def watch():
    while True:
        committed = logger.committed_step
        if committed >= 0 and logger._connection.in_transaction:
            print("killed-in-flush", committed, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(0.0002)

threading.Thread(target=watch, daemon=True).start()
sim.run(100_000)
print("finished", flush=True)
"""


def test_kill_9_during_a_background_flush_keeps_every_committed_step(tmp_path):
    path = tmp_path / "async.db"
    overrides = {"seed": 2, "agents.system": 150, "agents.independent": 150, "agents.control": 150,
                 "storage.db_path": str(path), "storage.asynchronous": True, "storage.flush_interval": 2,
                 "storage.batch_size": 10**6}
    script = _FLUSH_CHILD.format(root=str(REPO_ROOT), overrides=overrides)
    child = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=_env(), capture_output=True,
                           text=True, timeout=300)
    assert child.returncode == -signal.SIGKILL, child.stdout + child.stderr
    word, committed = child.stdout.split()
    assert word == "killed-in-flush"
    last = _assert_every_committed_step(path, 1, overrides, initial=450)
    assert last >= int(committed) and (last + 1) % 2 == 0  # whole flushes only
    assert _status(path, 1) == "running"  # nobody could mark it


_PERSIST_CHILD = r"""
import os, signal, sys, threading, time
sys.path.insert(0, {root!r})
from farm import Simulation, SimulationConfig, run_simulation
from farm.storage.logger import SimulationLogger

first = SimulationConfig().with_overrides({first!r})
run_simulation(first, 5)  # run 1: completed and persisted normally
original = SimulationLogger._persist

def persist(self, path):
    def watch():
        while True:
            for suffix in ("-journal", "-wal"):
                if os.path.exists(path + suffix):
                    print("killed-in-backup", suffix, flush=True)
                    os.kill(os.getpid(), signal.SIGKILL)
    threading.Thread(target=watch, daemon=True).start()
    original(self, path)
    time.sleep(1)  # the watcher has a last chance to see a journal
    print("missed", flush=True)

SimulationLogger._persist = persist
run_simulation(SimulationConfig().with_overrides({second!r}), {steps})
"""


def test_kill_9_during_the_memory_profiles_backup_keeps_the_file_consistent(tmp_path):
    path = tmp_path / "persist.db"
    storage = {"storage.db_path": ":memory:", "storage.persist_path": str(path)}
    first = {"seed": 1, "agents.system": 5, "agents.independent": 5, "agents.control": 5, **storage}
    second = {"seed": 3, "agents.system": 300, "agents.independent": 300, "agents.control": 300, **storage}
    for steps in (80, 300):  # a bigger database if the backup was too quick to catch
        path.unlink(missing_ok=True)
        script = _PERSIST_CHILD.format(root=str(REPO_ROOT), first=first, second=second, steps=steps)
        child = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=_env(), capture_output=True,
                               text=True, timeout=300)
        if "missed" not in child.stdout:
            break
    assert child.returncode == -signal.SIGKILL, child.stdout + child.stderr
    assert child.stdout.startswith("killed-in-backup")
    hot_journal = [p for p in tmp_path.iterdir() if p.name.startswith("persist.db-")]
    assert hot_journal, "the kill did not land inside the backup's write transaction"
    # Opening the file rolls the half-written backup back: run 1 as it was, run 2 absent.
    assert _assert_every_committed_step(path, 1, first, initial=15) == 4
    assert _status(path, 1) == "completed"
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM simulations").fetchone()[0] == 1
        assert conn.execute("SELECT COUNT(*) FROM agent_states WHERE run_id = 2").fetchone()[0] == 0


def _wait_for_committed_step(child: subprocess.Popen, path: Path, step: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert child.poll() is None, child.communicate()
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
                row = conn.execute("SELECT last_step FROM simulations WHERE id = 1").fetchone()
            if row and row[0] is not None and row[0] >= step:
                return
        except sqlite3.OperationalError:
            pass  # not created yet
        time.sleep(0.02)
    pytest.fail(f"the run never committed step {step}")


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_mid_run_flushes_every_step_and_marks_it_interrupted(tmp_path, signum, code):
    path = tmp_path / "run.db"
    child = subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "run_simulation.py"), "--steps", "1000000", "--agents", "60",
         "--seed", "6", "--db", str(path), "--no-progress"],
        cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        _wait_for_committed_step(child, path, 20)
        child.send_signal(signum)
        out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == code, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "interrupted" in lines[0] and "Traceback" not in err
    assert out == ""
    overrides = {"seed": 6, "agents.system": 20, "agents.independent": 20, "agents.control": 20}
    last = _assert_every_committed_step(path, 1, overrides, initial=60)
    assert last >= 20
    assert _status(path, 1) == "interrupted"
