"""SQLite simulation log (simple form): per-step summaries and per-agent states, batched."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import numpy as np

from farm.core.records import StepLog
from farm.storage.config import StorageConfig

__all__ = ["SimulationLogger", "make_logger", "check_db_path", "StorageConfig"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS simulations (
    id INTEGER PRIMARY KEY, config TEXT, seed INTEGER, start_time REAL, end_time REAL, status TEXT);
CREATE TABLE IF NOT EXISTS simulation_steps (
    run_id INTEGER, step INTEGER, system INTEGER, independent INTEGER, control INTEGER,
    total_resources REAL, births INTEGER, deaths INTEGER, mean_reward REAL, step_duration REAL);
CREATE TABLE IF NOT EXISTS agent_states (
    run_id INTEGER, step INTEGER, agent_id INTEGER, x REAL, y REAL, resources REAL, health REAL,
    starvation INTEGER, reward REAL, action INTEGER);
CREATE INDEX IF NOT EXISTS idx_agent_states_step ON agent_states (run_id, step);
CREATE INDEX IF NOT EXISTS idx_agent_states_agent ON agent_states (run_id, agent_id);
"""


def check_db_path(db_path: str) -> None:
    """Raise ValueError (one line) when ``db_path`` cannot hold a database."""
    if db_path == ":memory:":
        return
    path = Path(db_path)
    if path.is_dir():
        raise ValueError(f"DB path {db_path!r} is a directory")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ValueError(f"DB path {db_path!r}: directory {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ValueError(f"DB path {db_path!r} is not writable")


class SimulationLogger:
    """Buffers column arrays and writes them with ``executemany`` every ``batch_size`` rows."""

    def __init__(self, config: StorageConfig, config_json: str, seed: int) -> None:
        check_db_path(config.db_path)
        self.config = config
        try:
            self.connection = sqlite3.connect(config.db_path, check_same_thread=False)
            self.connection.executescript(_SCHEMA)
            self.connection.execute("PRAGMA journal_mode=WAL")
            self.connection.execute("PRAGMA synchronous=NORMAL")
            cursor = self.connection.execute(
                "INSERT INTO simulations (config, seed, start_time, status) VALUES (?, ?, ?, 'running')",
                (config_json, seed, time.time()),
            )
            self.connection.commit()
        except sqlite3.Error as exc:
            raise ValueError(f"cannot open DB {config.db_path!r}: {exc}") from None
        self.run_id = int(cursor.lastrowid)
        self._steps: list[tuple] = []
        self._states: list[list] = []
        self._buffered = 0
        self.closed = False

    def log_initial_agents(self, ids, types, parent_ids, generations) -> None:
        """The simple log keeps no agent table."""

    def log_step(self, log: StepLog) -> None:
        pop = log.population_by_type.tolist()
        self._steps.append((self.run_id, log.step, *pop, log.total_resources, int(log.born_ids.size),
                            int(log.died_ids.size), log.mean_reward, log.step_duration))
        n = log.agent_ids.shape[0]
        columns = [
            [self.run_id] * n, [log.step] * n, log.agent_ids.tolist(), log.positions[:, 0].tolist(),
            log.positions[:, 1].tolist(), log.resources.tolist(), log.health.tolist(),
            log.starvation.tolist(), log.rewards.tolist(), log.actions.tolist(),
        ]
        self._states.append(columns)
        self._buffered += n
        if self._buffered >= self.config.batch_size:
            self.flush()

    def flush(self) -> None:
        with self.connection:
            self.connection.executemany("INSERT INTO simulation_steps VALUES (?,?,?,?,?,?,?,?,?,?)", self._steps)
            for columns in self._states:
                self.connection.executemany("INSERT INTO agent_states VALUES (?,?,?,?,?,?,?,?,?,?)", zip(*columns))
        self._steps, self._states, self._buffered = [], [], 0

    def close(self, status: str = "completed") -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self.flush()
        finally:
            with self.connection:
                self.connection.execute(
                    "UPDATE simulations SET end_time = ?, status = ? WHERE id = ?", (time.time(), status, self.run_id)
                )
            self.connection.close()


def make_logger(config: StorageConfig, config_json: str, seed: int) -> SimulationLogger | None:
    """The logger the step loop uses, or None when ``config.db_path`` is None."""
    if not config.enabled:
        return None
    return SimulationLogger(config, config_json, seed)
