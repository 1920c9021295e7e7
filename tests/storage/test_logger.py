"""The logger end to end: every column read back equals what the StepLogs held."""

from __future__ import annotations

import sqlite3
import threading

import numpy as np
import pytest

from farm.storage import RunStatus, StorageConfig, list_runs, make_logger, open_run

from .steplogs import synthetic_run


def _log_run(config: StorageConfig, steps: int = 30, seed: int = 0, agents: int = 50):
    initial, logs = synthetic_run(steps, agents=agents, seed=seed)
    logger = make_logger(config, '{"seed": %d}' % seed, seed)
    logger.log_initial_agents(initial["ids"], initial["types"], initial["parent_ids"], initial["generations"])
    for log in logs:
        logger.log_step(log)
    return logger, initial, logs


def _expected_counts(initial, logs) -> dict[str, int]:
    return {
        "agents": len(initial["ids"]) + sum(len(log.born_ids) for log in logs),
        "agent_states": sum(len(log.agent_ids) for log in logs),
        "agent_actions": sum(len(log.agent_ids) for log in logs),
        "resource_states": sum(len(log.resource_amounts) for log in logs if log.resource_amounts is not None),
        "simulation_steps": len(logs),
        "interactions": sum(len(log.interaction_sources) for log in logs),
        "training_metrics": sum(len(v) for log in logs for v in log.training_metrics.values()),
    }


def _check_contents(reader, initial, logs) -> None:
    cat = lambda name: np.concatenate([getattr(log, name) for log in logs])  # noqa: E731
    steps_rep = np.concatenate([np.full(len(log.agent_ids), log.step) for log in logs])
    states = reader.agent_states()
    assert np.array_equal(states["step"], steps_rep)
    assert np.array_equal(states["agent_id"], cat("agent_ids"))
    assert np.array_equal(states["position"], np.concatenate([log.positions for log in logs]))
    for column, field in (("resources", "resources"), ("health", "health"), ("starvation", "starvation"),
                          ("reward", "rewards"), ("action", "actions")):
        assert np.array_equal(states[column], cat(field)), column
    actions = reader.agent_actions()
    assert np.array_equal(actions["target"], cat("action_targets"))
    assert np.array_equal(actions["success"], cat("action_success"))
    assert np.array_equal(actions["reward"], cat("rewards"))
    one = reader.agent_states(step=logs[3].step)
    assert np.array_equal(one["agent_id"], logs[3].agent_ids) and np.array_equal(one["health"], logs[3].health)

    agents = reader.agents()
    ids = np.concatenate([initial["ids"]] + [log.born_ids for log in logs])
    assert np.array_equal(agents["agent_id"], ids)
    assert np.array_equal(agents["agent_type"], np.concatenate([initial["types"]] + [log.born_types for log in logs]))
    assert np.array_equal(
        agents["parent_id"], np.concatenate([initial["parent_ids"]] + [log.born_parent_ids for log in logs])
    )
    births = np.concatenate([np.zeros(len(initial["ids"]))] + [np.full(len(log.born_ids), log.step) for log in logs])
    assert np.array_equal(agents["birth_step"], births)
    death = {int(i): log.step for log in logs for i in log.died_ids}
    assert agents["death_step"].tolist() == [death.get(int(i), -1) for i in ids]

    steps = reader.steps()
    assert steps["step"].tolist() == [log.step for log in logs]
    assert np.array_equal(
        np.stack([steps["population_system"], steps["population_independent"], steps["population_control"]], 1),
        np.stack([log.population_by_type for log in logs]),
    )
    assert steps["births"].tolist() == [len(log.born_ids) for log in logs]
    assert steps["deaths"].tolist() == [len(log.died_ids) for log in logs]
    assert np.array_equal(steps["mean_reward"], [log.mean_reward for log in logs])
    assert np.array_equal(steps["total_resources"], [log.total_resources for log in logs])

    interactions = reader.interactions()
    for column, field in (("source", "interaction_sources"), ("target", "interaction_targets"),
                          ("kind", "interaction_kinds"), ("amount", "interaction_amounts")):
        assert np.array_equal(interactions[column], cat(field)), column
    resources = reader.resource_states()
    sampled = [log for log in logs if log.resource_amounts is not None]
    assert np.array_equal(resources["amount"], np.concatenate([log.resource_amounts for log in sampled]))
    assert sorted(set(resources["step"].tolist())) == [log.step for log in sampled]

    metrics = reader.training_metrics()
    trained = [log for log in logs if log.training_metrics]
    steps_, values = metrics["system"]["loss"]
    assert steps_.tolist() == [log.step for log in trained]
    assert values.tolist() == [log.training_metrics["system"]["loss"] for log in trained]
    assert reader.final_population() == dict(zip(("system", "independent", "control"),
                                                 logs[-1].population_by_type.tolist()))


@pytest.mark.parametrize("asynchronous", [False, True])
@pytest.mark.parametrize("write_mode", ["batched", "row_at_a_time"])
@pytest.mark.parametrize("profile", ["balanced", "performance", "safety", "memory"])
def test_every_column_round_trips(tmp_path, profile, write_mode, asynchronous):
    path = tmp_path / "run.db"
    config = StorageConfig(db_path=str(path), batch_size=100, pragma_profile=profile, write_mode=write_mode,
                           asynchronous=asynchronous, queue_size=2)
    logger, initial, logs = _log_run(config)
    logger.close()
    with open_run(path) as reader:
        assert reader.status is RunStatus.COMPLETED and reader.seed == 0 and reader.config == {"seed": 0}
        assert reader.last_step == logs[-1].step and reader.end_time >= reader.start_time
        assert reader.row_counts() == _expected_counts(initial, logs) == logger.rows_logged
        _check_contents(reader, initial, logs)


@pytest.mark.parametrize("batch_size", [1, 7, 100, 500, 1000, 5000])
def test_row_counts_equal_what_was_logged_for_every_batch_size(tmp_path, batch_size):
    path = tmp_path / "run.db"
    logger, initial, logs = _log_run(StorageConfig(db_path=str(path), batch_size=batch_size), steps=40, seed=3)
    logger.close()
    with open_run(path) as reader:
        assert reader.row_counts() == _expected_counts(initial, logs)


def _committed_steps(path) -> int:
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT count(*) FROM simulation_steps").fetchone()[0]


def test_flushes_when_a_table_reaches_the_batch_size(tmp_path):
    path = tmp_path / "run.db"
    initial, logs = synthetic_run(10, agents=100, seed=1)
    logger = make_logger(StorageConfig(db_path=str(path), batch_size=250, flush_interval=1000), "{}", 0)
    agent_rows, committed = 0, 0
    for log in logs:
        logger.log_step(log)
        agent_rows += len(log.agent_ids)
        if agent_rows >= 250:  # agent_states is the largest table here
            committed, agent_rows = log.step + 1, 0
        assert _committed_steps(path) == committed
        assert logger.committed_step == committed - 1
    logger.close()
    assert _committed_steps(path) == 10


def test_flushes_every_flush_interval_steps(tmp_path):
    path = tmp_path / "run.db"
    _, logs = synthetic_run(9, agents=10, seed=2)
    logger = make_logger(StorageConfig(db_path=str(path), batch_size=10**6, flush_interval=4), "{}", 0)
    seen = []
    for log in logs:
        logger.log_step(log)
        seen.append(_committed_steps(path))
    assert seen == [0, 0, 0, 4, 4, 4, 4, 8, 8]
    logger.close()
    assert _committed_steps(path) == 9


def test_close_is_idempotent_and_the_logger_refuses_more_steps(tmp_path):
    logger, _, logs = _log_run(StorageConfig(db_path=str(tmp_path / "run.db")), steps=3)
    logger.close("completed")
    logger.close("failed")  # no effect: the first close wins
    assert open_run(tmp_path / "run.db").status is RunStatus.COMPLETED
    with pytest.raises(RuntimeError, match="closed"):
        logger.log_step(logs[0])
    with pytest.raises(ValueError, match="status"):
        logger.close("running")


@pytest.mark.parametrize("asynchronous", [False, True])
@pytest.mark.parametrize(
    "error, status", [(RuntimeError, RunStatus.FAILED), (KeyboardInterrupt, RunStatus.INTERRUPTED)]
)
def test_an_error_inside_the_run_flushes_and_records_the_status(tmp_path, error, status, asynchronous):
    path = tmp_path / "run.db"
    initial, logs = synthetic_run(25, seed=4)
    config = StorageConfig(db_path=str(path), batch_size=5000, flush_interval=1000, asynchronous=asynchronous)
    with pytest.raises(error):
        with make_logger(config, "{}", 0) as logger:
            logger.log_initial_agents(initial["ids"], initial["types"], initial["parent_ids"], initial["generations"])
            for log in logs:
                logger.log_step(log)
            assert _committed_steps(path) == 0  # everything is still buffered
            raise error()
    with open_run(path) as reader:
        assert reader.status is status
        assert reader.row_counts() == _expected_counts(initial, logs)


@pytest.mark.parametrize("asynchronous", [False, True])
def test_a_failing_write_marks_the_run_failed_and_raises(tmp_path, asynchronous):
    path = tmp_path / "run.db"
    _, logs = synthetic_run(5, seed=5)
    logger = make_logger(StorageConfig(db_path=str(path), asynchronous=asynchronous), "{}", 0)
    with sqlite3.connect(path) as other:
        other.execute("DROP TABLE interactions")
    for log in logs:
        logger.log_step(log)
    with pytest.raises((sqlite3.OperationalError, RuntimeError), match="interactions"):
        logger.close()
    assert logger.closed
    assert open_run(path).status is RunStatus.FAILED


def test_a_close_cut_short_while_the_writer_still_writes_leaves_a_killed_run(tmp_path, monkeypatch):
    """A second Ctrl-C during close's wait for the background writer: the writer still owns the
    connection, so close leaves it alone (it used to mark the run failed and close the connection
    under the writer, which lost the batches still queued). The run then reads as a killed one:
    status 'running', every batch the writer commits kept."""
    from farm.storage.background import _STOP, BackgroundWriter
    from farm.storage.writer import SqliteWriter

    gate, writing = threading.Event(), threading.Event()
    real_write = SqliteWriter.write

    def gated_write(self, batch):
        writing.set()
        assert gate.wait(30)
        return real_write(self, batch)

    def interrupted_finish(self):
        self._queue.put(_STOP)
        raise KeyboardInterrupt  # the signal lands in the join

    monkeypatch.setattr(SqliteWriter, "write", gated_write)
    monkeypatch.setattr(BackgroundWriter, "finish", interrupted_finish)
    path = tmp_path / "run.db"
    config = StorageConfig(db_path=str(path), asynchronous=True, flush_interval=1, queue_size=64)
    logger, initial, logs = _log_run(config, steps=10)
    assert writing.wait(30)
    with pytest.raises(KeyboardInterrupt):
        logger.close(RunStatus.INTERRUPTED)
    writer_thread = logger._background._thread
    assert writer_thread.is_alive()
    gate.set()
    writer_thread.join(30)
    assert not writer_thread.is_alive()
    with open_run(path) as reader:
        assert reader.status is RunStatus.RUNNING
        assert reader.row_counts() == _expected_counts(initial, logs)


def test_many_runs_share_one_database(tmp_path):
    path = tmp_path / "runs.db"
    first, initial1, logs1 = _log_run(StorageConfig(db_path=str(path)), steps=12, seed=1)
    first.close()
    second, initial2, logs2 = _log_run(StorageConfig(db_path=str(path), pragma_profile="memory"), steps=7, seed=2)
    second.close("interrupted")
    assert (first.run_id, second.run_id) == (1, 2)
    assert [run["status"] for run in list_runs(path)] == ["completed", "interrupted"]
    with open_run(path) as latest:
        assert latest.run_id == 2 and latest.seed == 2
        assert latest.row_counts() == _expected_counts(initial2, logs2)
        _check_contents(latest, initial2, logs2)
    with open_run(path, run_id=1) as earlier:
        assert earlier.row_counts() == _expected_counts(initial1, logs1)
        _check_contents(earlier, initial1, logs1)
    with pytest.raises(ValueError, match="no run with id 3"):
        open_run(path, run_id=3)


def test_an_in_memory_database_is_persisted_with_the_backup_api(tmp_path):
    path = tmp_path / "copy.db"
    logger, initial, logs = _log_run(StorageConfig(db_path=":memory:", persist_path=str(path)), steps=9)
    assert not path.exists() or path.stat().st_size == 0  # nothing reaches the file before close
    logger.close()
    with open_run(path) as reader:
        assert reader.row_counts() == _expected_counts(initial, logs)
        _check_contents(reader, initial, logs)


def test_a_pure_in_memory_run_logs_and_closes(tmp_path):
    logger, initial, logs = _log_run(StorageConfig(db_path=":memory:"), steps=5)
    assert logger.rows_logged == _expected_counts(initial, logs)
    logger.close()
    assert logger.closed


def test_flush_with_wait_commits_everything_an_asynchronous_logger_holds(tmp_path):
    path = tmp_path / "run.db"
    logger, initial, logs = _log_run(StorageConfig(db_path=str(path), asynchronous=True, batch_size=5000,
                                                   flush_interval=1000), steps=20)
    logger.flush(wait=True)
    assert _committed_steps(path) == 20 and logger.committed_step == 19
    logger.close()
