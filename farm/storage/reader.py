"""Reading a logged run back as numpy columns: ``open_run(path, run_id=None)``."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from farm.storage.schema import TABLES
from farm.storage.status import RunStatus

__all__ = ["RunReader", "open_run", "list_runs"]

_POPULATION_COLUMNS = ("population_system", "population_independent", "population_control")


def _connect(path: str | os.PathLike) -> sqlite3.Connection:
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"no simulation database at {path!r}")
    try:
        connection = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=rw", uri=True)
        connection.execute("SELECT count(*) FROM simulations").fetchone()
    except sqlite3.Error as exc:
        raise ValueError(f"{path!r} is not a simulation database ({exc})") from None
    return connection


def list_runs(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Every run in the database: id, seed, status, start/end time, last committed step."""
    connection = _connect(path)
    try:
        rows = connection.execute(
            "SELECT id, seed, status, start_time, end_time, last_step FROM simulations ORDER BY id"
        ).fetchall()
    finally:
        connection.close()
    keys = ("run_id", "seed", "status", "start_time", "end_time", "last_step")
    return [dict(zip(keys, row)) for row in rows]


def open_run(path: str | os.PathLike, run_id: int | None = None) -> "RunReader":
    """A reader of run ``run_id`` (the latest run when None) of the database at ``path``."""
    connection = _connect(path)
    try:
        if run_id is None:
            row = connection.execute("SELECT max(id) FROM simulations").fetchone()
            if row[0] is None:
                raise ValueError(f"{os.fspath(path)!r} holds no runs")
            run_id = int(row[0])
        return RunReader(connection, int(run_id))
    except BaseException:
        connection.close()
        raise


class RunReader:
    """One run of a simulation database, read column by column.

    Every ``dict`` of arrays maps a column name to an ``(rows,)`` array (positions ``(rows, 2)``),
    rows ordered by step then agent id. ``step=None`` reads every step.

    Attributes:
        run_id, seed, status (:class:`RunStatus`), config (the run's config as a dict),
        start_time, end_time (None while running), last_step (last committed step, None if none).
    """

    def __init__(self, connection: sqlite3.Connection, run_id: int) -> None:
        row = connection.execute(
            "SELECT config_json, seed, start_time, end_time, status, last_step FROM simulations WHERE id = ?", (run_id,)
        ).fetchone()
        if row is None:
            raise ValueError(f"no run with id {run_id}")
        self._connection = connection
        self.run_id = run_id
        config_json, self.seed, self.start_time, self.end_time, status, self.last_step = row
        self.config: dict[str, Any] = json.loads(config_json) if config_json else {}
        self.status = RunStatus(status)

    def _columns(self, sql: str, parameters: tuple, names: tuple[str, ...], dtypes: tuple) -> dict[str, np.ndarray]:
        rows = self._connection.execute(sql, parameters).fetchall()
        columns = list(zip(*rows)) if rows else [() for _ in names]
        return {name: np.array(values, dtype=dtype) for name, values, dtype in zip(names, columns, dtypes)}

    def _step_filter(self, step: int | None) -> tuple[str, tuple]:
        if step is None:
            return "run_id = ?", (self.run_id,)
        return "run_id = ? AND step = ?", (self.run_id, int(step))

    def steps(self) -> dict[str, np.ndarray]:
        """``simulation_steps`` columns, one entry per logged step.

        The columns: step, population_system/independent/control, total_resources, births,
        deaths, mean_reward, step_duration.
        """
        names = TABLES["simulation_steps"].column_names[1:]
        dtypes = (np.int64, np.int64, np.int64, np.int64, np.float64, np.int64, np.int64, np.float64, np.float64)
        sql = f"SELECT {', '.join(names)} FROM simulation_steps WHERE run_id = ? ORDER BY step"
        return self._columns(sql, (self.run_id,), names, dtypes)

    def agent_states(self, step: int | None = None) -> dict[str, np.ndarray]:
        """step, agent_id, position ``(rows, 2)``, resources, health, starvation, reward, action."""
        where, parameters = self._step_filter(step)
        names = (
            "step", "agent_id", "position_x", "position_y", "resources", "health", "starvation", "reward", "action"
        )
        dtypes = (np.int64, np.int64, np.float64, np.float64, np.float64, np.float64, np.int32, np.float64, np.int8)
        sql = f"SELECT {', '.join(names)} FROM agent_states WHERE {where} ORDER BY step, agent_id"
        data = self._columns(sql, parameters, names, dtypes)
        data["position"] = np.stack([data.pop("position_x"), data.pop("position_y")], axis=1)
        return data

    def agent_actions(self, step: int | None = None) -> dict[str, np.ndarray]:
        """step, agent_id, action, target, success (bool), reward."""
        where, parameters = self._step_filter(step)
        names = ("step", "agent_id", "action", "target", "success", "reward")
        dtypes = (np.int64, np.int64, np.int8, np.int64, np.bool_, np.float64)
        sql = f"SELECT {', '.join(names)} FROM agent_actions WHERE {where} ORDER BY step, agent_id"
        return self._columns(sql, parameters, names, dtypes)

    def agents(self) -> dict[str, np.ndarray]:
        """agent_id, agent_type, birth_step, death_step (-1 while alive), parent_id, generation."""
        names = ("agent_id", "agent_type", "birth_step", "death_step", "parent_id", "generation")
        dtypes = (np.int64, np.int8, np.int64, np.int64, np.int64, np.int32)
        sql = (
            "SELECT agent_id, agent_type, birth_step, coalesce(death_step, -1), parent_id, generation "
            "FROM agents WHERE run_id = ? ORDER BY agent_id"
        )
        return self._columns(sql, (self.run_id,), names, dtypes)

    def resource_states(self, step: int | None = None) -> dict[str, np.ndarray]:
        """step, node, amount; only the steps the resource interval selected."""
        where, parameters = self._step_filter(step)
        names = ("step", "node", "amount")
        sql = f"SELECT step, node, amount FROM resource_states WHERE {where} ORDER BY step, node"
        return self._columns(sql, parameters, names, (np.int64, np.int64, np.float64))

    def interactions(self, step: int | None = None) -> dict[str, np.ndarray]:
        """step, source, target, kind (:class:`~farm.core.records.InteractionKind`), amount."""
        where, parameters = self._step_filter(step)
        names = ("step", "source", "target", "kind", "amount")
        sql = f"SELECT step, source, target, kind, amount FROM interactions WHERE {where} ORDER BY rowid"
        return self._columns(sql, parameters, names, (np.int64, np.int64, np.int64, np.int8, np.float64))

    def training_metrics(self) -> dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]:
        """agent-type name -> metric name -> (steps ``(k,) int64``, values ``(k,) float64``)."""
        rows = self._connection.execute(
            "SELECT agent_type, name, step, value FROM training_metrics WHERE run_id = ? ORDER BY rowid",
            (self.run_id,),
        ).fetchall()
        grouped: dict[str, dict[str, list[tuple[int, float]]]] = {}
        for agent_type, name, step, value in rows:
            grouped.setdefault(agent_type, {}).setdefault(name, []).append((step, value))
        return {
            agent_type: {
                name: (
                    np.array([s for s, _ in pairs], dtype=np.int64),
                    np.array([v for _, v in pairs], dtype=np.float64),
                )
                for name, pairs in metrics.items()
            }
            for agent_type, metrics in grouped.items()
        }

    def row_counts(self) -> dict[str, int]:
        """Rows of this run in every logged table."""
        return {
            name: int(
                self._connection.execute(f"SELECT count(*) FROM {name} WHERE run_id = ?", (self.run_id,)).fetchone()[0]
            )
            for name in TABLES
        }

    def final_population(self) -> dict[str, int]:
        """Population per agent type after the last logged step (empty when no step was logged)."""
        row = self._connection.execute(
            f"SELECT {', '.join(_POPULATION_COLUMNS)} FROM simulation_steps"
            " WHERE run_id = ? ORDER BY step DESC LIMIT 1",
            (self.run_id,),
        ).fetchone()
        if row is None:
            return {}
        return {name.removeprefix("population_"): int(value) for name, value in zip(_POPULATION_COLUMNS, row)}

    def close(self) -> None:
        """Close the connection."""
        self._connection.close()

    def __enter__(self) -> "RunReader":
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()
