"""The log of a real farm.Simulation: every table holds exactly what the StepLogs held."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from benchmarks.bench_workload import workload_config
from farm import Simulation, SimulationConfig
from farm.decision import frames
from farm.storage import RunStatus, open_run


def _config(db_path, **overrides) -> SimulationConfig:
    changes = {"seed": 3, "agents.system": 15, "agents.independent": 15, "agents.control": 15,
               "storage.db_path": str(db_path), "storage.batch_size": 500, "storage.resource_interval": 7}
    changes.update(overrides)
    return SimulationConfig().with_overrides(changes)


@pytest.mark.parametrize("asynchronous", [False, True])
def test_fifty_steps_leave_exactly_the_logged_rows_in_every_table(tmp_path, asynchronous):
    db = tmp_path / "run.db"
    with Simulation(_config(db, **{"storage.asynchronous": asynchronous})) as sim:
        initial_ids = sim.state.ids.copy()
        logs = [sim.step() for _ in range(50)]
        run_id = sim.logger.run_id
    expected = {
        "agents": len(initial_ids) + sum(len(log.born_ids) for log in logs),
        "agent_states": sum(len(log.agent_ids) for log in logs),
        "agent_actions": sum(len(log.agent_ids) for log in logs),
        "resource_states": sum(len(log.resource_amounts) for log in logs if log.resource_amounts is not None),
        "simulation_steps": 50,
        "interactions": sum(len(log.interaction_sources) for log in logs),
        "training_metrics": sum(len(m) for log in logs for m in log.training_metrics.values()),
    }
    assert expected["agent_states"] > 0 and expected["resource_states"] == 8 * len(logs[0].resource_amounts)
    with open_run(db) as run:
        assert run.run_id == run_id and run.status is RunStatus.COMPLETED and run.config["seed"] == 3
        assert run.row_counts() == expected
        states = run.agent_states()
        assert np.array_equal(states["agent_id"], np.concatenate([log.agent_ids for log in logs]))
        assert np.array_equal(states["position"], np.concatenate([log.positions for log in logs]))
        assert np.array_equal(run.agent_actions()["action"], np.concatenate([log.actions for log in logs]))
        agents = run.agents()
        assert np.array_equal(agents["agent_id"], np.concatenate([initial_ids] + [log.born_ids for log in logs]))
        died = {int(i): log.step for log in logs for i in log.died_ids}
        assert agents["death_step"].tolist() == [died.get(int(i), -1) for i in agents["agent_id"]]
        assert run.final_population() == dict(zip(("system", "independent", "control"),
                                                  logs[-1].population_by_type.tolist()))


@pytest.mark.parametrize(
    "error, status", [(RuntimeError, RunStatus.FAILED), (KeyboardInterrupt, RunStatus.INTERRUPTED)]
)
def test_an_error_inside_the_simulation_context_records_the_status_and_keeps_the_steps(tmp_path, error, status):
    db = tmp_path / "run.db"
    with pytest.raises(error):
        with Simulation(_config(db, **{"storage.batch_size": 10**6, "storage.flush_interval": 1000})) as sim:
            logs = [sim.step() for _ in range(12)]
            raise error()
    with open_run(db) as run:
        assert run.status is status
        assert run.row_counts()["simulation_steps"] == 12
        assert run.row_counts()["agent_states"] == sum(len(log.agent_ids) for log in logs)


def test_a_bad_db_path_fails_before_the_run_in_one_line(tmp_path):
    with pytest.raises(ValueError) as info:
        Simulation(_config(tmp_path / "missing" / "run.db"))
    assert "storage.db_path" in str(info.value) and "\n" not in str(info.value)


def test_ctrl_c_while_a_frame_copy_is_on_the_worker_keeps_the_log_and_the_next_run(
    tmp_path, monkeypatch, every_frame_copy_on_the_worker
):
    """A KeyboardInterrupt after the learn stage handed its frame copies to the worker thread
    (made slow here, so that they are still running) closes the run as interrupted with every
    finished step logged; the copies still land, and the next simulation in the process runs
    the same steps as the interrupted one did."""
    copy_into = frames._copy_into
    copying = threading.Event()

    def slow_copy(*args):
        copying.set()
        time.sleep(0.2)
        copy_into(*args)

    monkeypatch.setattr(frames, "_copy_into", slow_copy)
    config = workload_config(30, "off", "mlp", str(tmp_path / "run.db"))
    interrupted_at = 7
    with pytest.raises(KeyboardInterrupt):
        with Simulation(config) as sim:
            logs = [sim.step() for _ in range(interrupted_at)]

            def interrupt():
                assert copying.is_set() and frames._last_copy is not None and not frames._last_copy.done()
                raise KeyboardInterrupt

            monkeypatch.setattr(sim, "regenerate_resources", interrupt)  # the stage after learn
            sim.step()
    assert len(every_frame_copy_on_the_worker) == 3 * (interrupted_at + 1)  # one per type and step
    frames.wait_for_copies()  # the copy in flight when the interrupt came finishes, without error
    with open_run(tmp_path / "run.db") as run:
        assert run.status is RunStatus.INTERRUPTED
        assert run.row_counts()["simulation_steps"] == interrupted_at
        assert run.row_counts()["agent_states"] == sum(len(log.agent_ids) for log in logs)
    monkeypatch.setattr(frames, "_copy_into", copy_into)
    with Simulation(workload_config(30, "off", "mlp", None)) as again:
        for log in logs:
            assert np.array_equal(again.step().positions, log.positions)
