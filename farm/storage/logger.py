"""The simulation logger: StepLog columns in, batched sqlite writes out."""

from __future__ import annotations

import logging
import sqlite3
import time
from types import TracebackType
from typing import TYPE_CHECKING

import numpy as np

from farm.core.state import AgentType
from farm.storage.background import BackgroundWriter
from farm.storage.buffer import StepBuffers
from farm.storage.config import StorageConfig, WriteMode
from farm.storage.schema import create_agent_indexes
from farm.storage.status import RunStatus
from farm.storage.writer import SqliteWriter
from farm.utils.validation import coerce_enum

if TYPE_CHECKING:  # the engine imports this package; keep the import graph one-way at run time
    from farm.core.records import StepLog

__all__ = ["SimulationLogger"]

_LOG = logging.getLogger(__name__)
_FINAL_STATUSES = (RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.INTERRUPTED)


class SimulationLogger:
    """Buffers one run's rows column by column and writes them in whole steps.

    A flush happens when one table holds ``batch_size`` rows, every ``flush_interval`` steps, and
    on :meth:`close`; each flush is one transaction, so a killed process leaves every flushed step
    complete. Build one with :func:`farm.storage.make_logger`.

    Attributes:
        run_id: the run's id in the ``simulations`` table.
        rows_logged: table name -> rows handed to the logger so far (flushed or not).
    """

    def __init__(
        self, config: StorageConfig, connection: sqlite3.Connection, run_id: int, persist_path: str | None
    ) -> None:
        self.config = config
        self.run_id = run_id
        self._connection = connection
        self._persist_path = persist_path
        self._buffers = StepBuffers()
        self._writer = SqliteWriter(connection, run_id, config.write_mode)
        self._background = BackgroundWriter(self._writer, config.queue_size) if config.asynchronous else None
        self._steps_since_flush = 0
        self._closed = False
        self.flush_seconds = 0.0  # time spent in flush() by the caller's thread

    @property
    def rows_logged(self) -> dict[str, int]:
        """Rows appended so far per table (buffered or written)."""
        return {name: buffer.appended for name, buffer in self._buffers.tables.items()}

    @property
    def buffered_rows(self) -> int:
        """Rows waiting in the buffers, all tables together."""
        return sum(buffer.rows for buffer in self._buffers.tables.values())

    @property
    def buffered_bytes(self) -> int:
        """Bytes held by the buffers."""
        return self._buffers.nbytes

    @property
    def committed_step(self) -> int:
        """The last step known to be committed (-1 before the first commit)."""
        return self._writer.committed_step

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has run."""
        return self._closed

    def log_initial_agents(
        self, ids: np.ndarray, types: np.ndarray, parent_ids: np.ndarray, generations: np.ndarray
    ) -> None:
        """Record the agents that exist before step 0 (birth step 0), each array ``(n,)``."""
        self._require_open()
        ids = np.asarray(ids)
        self._buffers.tables["agents"].append({
            "agent_id": ids, "agent_type": np.asarray(types), "birth_step": np.zeros(len(ids), dtype=np.int64),
            "parent_id": np.asarray(parent_ids), "generation": np.asarray(generations),
        })

    def log_step(self, step_log: "StepLog") -> None:
        """Buffer every row ``step_log`` produces; flush when a threshold is reached."""
        self._require_open()
        log = step_log
        step = int(log.step)
        tables = self._buffers.tables
        n = len(log.agent_ids)
        steps = np.full(n, step, dtype=np.int64)
        # Every column is copied once here (the two agent tables share theirs) or made here, and
        # handed to the buffers without a second copy.
        agent_ids, actions, rewards = np.array(log.agent_ids), np.array(log.actions), np.array(log.rewards)
        tables["agent_states"].append({
            "step": steps, "agent_id": agent_ids, "position_x": log.positions[:, 0].copy(),
            "position_y": log.positions[:, 1].copy(), "resources": np.array(log.resources),
            "health": np.array(log.health), "starvation": np.array(log.starvation), "reward": rewards,
            "action": actions,
        }, copy=False)
        tables["agent_actions"].append({
            "step": steps, "agent_id": agent_ids, "action": actions, "target": np.array(log.action_targets),
            "success": log.action_success.astype(np.int8), "reward": rewards,
        }, copy=False)
        born = len(log.born_ids)
        if born:
            tables["agents"].append({
                "agent_id": log.born_ids, "agent_type": log.born_types,
                "birth_step": np.full(born, step, dtype=np.int64), "parent_id": log.born_parent_ids,
                "generation": log.born_generations,
            })
        self._buffers.add_deaths(step, log.died_ids)
        if log.resource_amounts is not None:
            nodes = len(log.resource_amounts)
            tables["resource_states"].append({
                "step": np.full(nodes, step, dtype=np.int64), "node": np.arange(nodes, dtype=np.int64),
                "amount": np.array(log.resource_amounts),
            }, copy=False)
        population = np.array(log.population_by_type, dtype=np.int64)
        tables["simulation_steps"].append({
            "step": np.array([step]),
            **{
                f"population_{agent_type.name.lower()}": population[agent_type:agent_type + 1]
                for agent_type in AgentType
            },
            "total_resources": np.array([float(log.total_resources)]), "births": np.array([born]),
            "deaths": np.array([len(log.died_ids)]), "mean_reward": np.array([log.mean_reward]),
            "step_duration": np.array([float(log.step_duration)]),
        }, copy=False)
        k = len(log.interaction_sources)
        if k:
            tables["interactions"].append({
                "step": np.full(k, step, dtype=np.int64), "source": log.interaction_sources,
                "target": log.interaction_targets, "kind": log.interaction_kinds, "amount": log.interaction_amounts,
            })
        if log.training_metrics:
            self._append_training_metrics(step, log.training_metrics)
        self._buffers.last_step = step
        self._steps_since_flush += 1
        if (
            self.config.write_mode is WriteMode.ROW_AT_A_TIME  # unbuffered: every row out now
            or self._buffers.max_rows >= self.config.batch_size
            or self._steps_since_flush >= self.config.flush_interval
        ):
            self.flush()

    def _append_training_metrics(self, step: int, metrics: dict[str, dict[str, float]]) -> None:
        agent_types = [agent_type for agent_type, values in metrics.items() for _ in values]
        names = [name for values in metrics.values() for name in values]
        values = [float(value) for per_type in metrics.values() for value in per_type.values()]
        self._buffers.tables["training_metrics"].append({
            "step": np.full(len(names), step, dtype=np.int64), "agent_type": np.array(agent_types, dtype=object),
            "name": np.array(names, dtype=object), "value": np.array(values, dtype=np.float64),
        })

    def flush(self, wait: bool = False) -> None:
        """Write every buffered step now.

        Asynchronous: hand it to the background thread, and with ``wait`` block until the thread
        has committed everything submitted so far.
        """
        self._require_open()
        self._flush()
        if wait and self._background is not None:
            self._background.wait()

    def _flush(self) -> None:
        self._steps_since_flush = 0
        if self._buffers.empty:
            return
        started = time.perf_counter()
        batch = self._buffers.take()
        if self._background is not None:
            self._background.submit(batch)
        else:
            self._writer.write(batch)
        self.flush_seconds += time.perf_counter() - started

    def close(self, status: RunStatus | str = RunStatus.COMPLETED) -> None:
        """Flush, record ``status`` and the end time, and close.

        Also builds the per-agent indexes and persists an in-memory database. Later calls do
        nothing.

        ``status`` is 'completed', 'failed' or 'interrupted'. If the final flush fails, the run is
        recorded as failed (interrupted, for a KeyboardInterrupt) and the error is raised after
        the database is closed. If the wait for the background writer is cut short, the writer
        may still be using the connection: the run is then left as a killed one (every committed
        step kept, the status still 'running') and the error raised at once.
        """
        final = coerce_enum("storage", "status", RunStatus, status)
        if final not in _FINAL_STATUSES:
            raise ValueError(f"storage.status must be completed, failed or interrupted; got {status!r}")
        if self._closed:
            return
        self._closed = True
        error: BaseException | None = None
        try:
            self._flush()
        except BaseException as exc:  # noqa: BLE001 - recorded, then raised below
            error = exc
        if self._background is not None:
            try:
                self._background.finish()
            except BaseException as exc:  # noqa: BLE001
                error = error or exc
            if self._background.alive:  # e.g. a second Ctrl-C during the join
                raise error
        if error is not None:
            final = RunStatus.INTERRUPTED if isinstance(error, KeyboardInterrupt) else RunStatus.FAILED
            if self._connection.in_transaction:
                self._connection.rollback()
        try:
            with self._connection:
                self._connection.execute(
                    "UPDATE simulations SET end_time = ?, status = ? WHERE id = ?",
                    (time.time(), final.value, self.run_id),
                )
            try:
                create_agent_indexes(self._connection)
            except sqlite3.Error as exc:  # the rows are intact; only per-agent lookups stay slow
                _LOG.error("run %d: could not build the per-agent indexes: %s", self.run_id, exc)
            if self._persist_path is not None:
                self._persist(self._persist_path)
        finally:
            self._connection.close()
        if error is not None:
            raise error
        _LOG.debug("run %d closed as %s: %s", self.run_id, final.value, self.rows_logged)

    def _persist(self, path: str) -> None:
        target = sqlite3.connect(path)
        try:
            self._connection.backup(target)
        finally:
            target.close()

    def _require_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"the logger of run {self.run_id} is closed")

    def __enter__(self) -> "SimulationLogger":
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close(RunStatus.COMPLETED)
        elif issubclass(exc_type, KeyboardInterrupt):
            self.close(RunStatus.INTERRUPTED)
        else:
            self.close(RunStatus.FAILED)
