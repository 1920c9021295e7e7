"""The log of the AgentFarm preset, as shipped, equals a brute-force row-at-a-time log of the same steps.

The reference is written here with plain ``sqlite3``, one ``INSERT`` per row, from deep copies of
the StepLogs the run returned, independently of ``farm.storage``'s buffers and writer. Every
table is compared row by row in rowid order, every column, exactly (floats as stored). Whatever
the preset's storage settings (asynchronous writer, batch size, flush interval), the database a
run leaves must not change.
"""

from __future__ import annotations

import copy
import sqlite3

import numpy as np
import pytest

from farm import Simulation, SimulationConfig
from farm.core.state import AgentType
from farm.storage.schema import TABLES, create_schema

pytest.importorskip("torch")

_RUN_ID = 1


def _preset(db_path, **overrides) -> SimulationConfig:
    """The preset at 90 agents in a world that feeds them (births, deaths, interactions), training early."""
    return SimulationConfig.preset("agentfarm").with_overrides({
        "seed": 5, "agents.system": 30, "agents.independent": 30, "agents.control": 30,
        "agents.max_population": 110, "resources.density": "dense", "resources.regeneration": "deterministic",
        "resources.regen_rate": 1.0, "resources.regen_amount": 1.0, "storage.resource_interval": 3,
        "decision.ddqn.learning_starts": 32, "decision.ddqn.batch_size": 16,
        "storage.db_path": str(db_path), **overrides,
    })


def _insert(conn: sqlite3.Connection, table: str, row: tuple) -> None:
    names = TABLES[table].insert_columns
    conn.execute(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                 (_RUN_ID, *row))


def _brute_force_log(path, initial: dict, logs: list) -> None:
    """Every row of the run, one INSERT (and one death UPDATE) at a time, in the order logged."""
    conn = sqlite3.connect(path)
    create_schema(conn)
    py = lambda array: np.asarray(array).tolist()  # noqa: E731 - numpy scalars to Python numbers
    with conn:
        for row in zip(*(py(initial[k]) for k in ("ids", "types", "parent_ids", "generations"))):
            _insert(conn, "agents", (row[0], row[1], 0, row[2], row[3]))
        for log in logs:
            s = log.step
            for i in range(len(log.agent_ids)):
                _insert(conn, "agent_states", (
                    s, py(log.agent_ids[i]), py(log.positions[i, 0]), py(log.positions[i, 1]),
                    py(log.resources[i]), py(log.health[i]), py(log.starvation[i]), py(log.rewards[i]),
                    py(log.actions[i])))
                _insert(conn, "agent_actions", (
                    s, py(log.agent_ids[i]), py(log.actions[i]), py(log.action_targets[i]),
                    int(log.action_success[i]), py(log.rewards[i])))
            for i in range(len(log.born_ids)):
                _insert(conn, "agents", (py(log.born_ids[i]), py(log.born_types[i]), s, py(log.born_parent_ids[i]),
                                         py(log.born_generations[i])))
            for agent in py(log.died_ids):
                conn.execute("UPDATE agents SET death_step = ? WHERE run_id = ? AND agent_id = ?", (s, _RUN_ID, agent))
            if log.resource_amounts is not None:
                for node, amount in enumerate(py(log.resource_amounts)):
                    _insert(conn, "resource_states", (s, node, amount))
            population = py(log.population_by_type)
            _insert(conn, "simulation_steps", (
                s, *(population[t] for t in AgentType), float(log.total_resources), len(log.born_ids),
                len(log.died_ids), float(log.mean_reward), float(log.step_duration)))
            for i in range(len(log.interaction_sources)):
                _insert(conn, "interactions", (
                    s, py(log.interaction_sources[i]), py(log.interaction_targets[i]), py(log.interaction_kinds[i]),
                    py(log.interaction_amounts[i])))
            for agent_type, metrics in log.training_metrics.items():
                for name, value in metrics.items():
                    _insert(conn, "training_metrics", (s, agent_type, name, float(value)))
    conn.close()


def _rows(path, table: str) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()
    conn.close()
    return rows


def test_the_preset_log_equals_a_row_at_a_time_log_of_the_same_steps(tmp_path):
    db = tmp_path / "run.db"
    config = _preset(db)
    with Simulation(config) as sim:
        initial = {"ids": sim.state.ids.copy(), "types": sim.state.agent_types.copy(),
                   "parent_ids": sim.state.parent_ids.copy(), "generations": sim.state.generation.copy()}
        logs = [copy.deepcopy(sim.step()) for _ in range(45)]
    reference = tmp_path / "reference.db"
    _brute_force_log(reference, initial, logs)

    assert any(len(log.born_ids) for log in logs) and any(len(log.died_ids) for log in logs)
    assert any(log.training_metrics for log in logs) and any(len(log.interaction_sources) for log in logs)
    for table in TABLES:
        logged, expected = _rows(db, table), _rows(reference, table)
        assert len(logged) == len(expected), table
        assert logged == expected, table
    with sqlite3.connect(db) as conn:
        (seed, status, last_step, config_json) = conn.execute(
            "SELECT seed, status, last_step, config_json FROM simulations WHERE id = ?", (_RUN_ID,)).fetchone()
    assert (seed, status, last_step, config_json) == (5, "completed", 44, config.to_json())
