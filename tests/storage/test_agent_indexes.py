"""The per-agent indexes: never maintained row by row while a run logs into a file that holds
earlier runs (up to the rebuild limit), always present after a close, over every run."""

from __future__ import annotations

import sqlite3

import pytest

from farm.storage import StorageConfig, open_run
from farm.storage.schema import AGENT_INDEXES, drop_agent_indexes

from .test_logger import _check_contents, _log_run

AGENT_INDEX_NAMES = {"agent_states_run_agent", "agent_actions_run_agent", "interactions_run_source"}


def _indexes(path) -> set[str]:
    connection = sqlite3.connect(path)
    try:
        return {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    finally:
        connection.close()


def _start_run(config: StorageConfig, seed: int):
    """A logger of a new run in ``config``'s file, 20 synthetic steps of 40 agents logged, not closed."""
    return _log_run(config, steps=20, seed=seed, agents=40)


@pytest.mark.parametrize("asynchronous", [False, True])
def test_a_second_run_logs_without_them_and_its_close_builds_them_over_both_runs(tmp_path, asynchronous):
    path = tmp_path / "runs.db"
    config = StorageConfig(db_path=str(path), batch_size=100, flush_interval=3, asynchronous=asynchronous)
    first, first_initial, first_logs = _start_run(config, seed=1)
    first.close()
    assert AGENT_INDEX_NAMES <= _indexes(path)

    second, second_initial, second_logs = _start_run(config, seed=2)
    second.flush(wait=True)
    assert not AGENT_INDEX_NAMES & _indexes(path)  # this run's inserts did not maintain them
    second.close()
    assert AGENT_INDEX_NAMES <= _indexes(path)

    for run_id, initial, logs in ((1, first_initial, first_logs), (2, second_initial, second_logs)):
        with open_run(path, run_id) as reader:
            _check_contents(reader, initial, logs)
    connection = sqlite3.connect(path)
    try:
        plan = " ".join(str(row) for row in connection.execute(
            "EXPLAIN QUERY PLAN SELECT step FROM agent_states WHERE run_id = 1 AND agent_id = 3"))
    finally:
        connection.close()
    assert "agent_states_run_agent" in plan


def test_a_file_over_the_rebuild_limit_keeps_them(tmp_path):
    path = tmp_path / "runs.db"
    logger, _, logs = _start_run(StorageConfig(db_path=str(path)), seed=1)
    logger.close()
    rows = sum(len(log.agent_ids) for log in logs)
    connection = sqlite3.connect(path)
    try:
        assert drop_agent_indexes(connection, row_limit=rows - 1) is False
        assert AGENT_INDEX_NAMES <= _indexes(path)
        assert drop_agent_indexes(connection, row_limit=rows) is True
        assert not AGENT_INDEX_NAMES & _indexes(path)
        assert drop_agent_indexes(connection, row_limit=rows) is True  # none left: nothing to do
    finally:
        connection.close()


def test_a_run_killed_before_its_close_leaves_them_to_the_next_close(tmp_path):
    """A run that never closes (its process killed) leaves every committed row and no per-agent
    indexes; the next run's close builds them over all three runs."""
    path = tmp_path / "runs.db"
    config = StorageConfig(db_path=str(path), batch_size=100, flush_interval=3)
    first, *_ = _start_run(config, seed=1)
    first.close()
    killed, _, killed_logs = _start_run(config, seed=2)
    killed.flush()
    killed._connection.close()  # what a killed process leaves: the connection gone, no close()
    assert not AGENT_INDEX_NAMES & _indexes(path)
    with open_run(path, 2) as reader:
        assert reader.row_counts()["agent_states"] == sum(len(log.agent_ids) for log in killed_logs)
    third, *_ = _start_run(config, seed=3)
    third.close()
    assert AGENT_INDEX_NAMES <= _indexes(path)


def test_the_statements_build_the_named_indexes():
    assert {statement.split()[5] for statement in AGENT_INDEXES} == AGENT_INDEX_NAMES
