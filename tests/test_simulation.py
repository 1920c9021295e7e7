"""The step loop: invariants over real runs, stages callable alone, the log, the context manager."""

import sqlite3

import numpy as np
import pytest

from farm import Action, Simulation, SimulationConfig, Stage, run_simulation
from farm.core.targets import nearest_valid, pair_distances
from farm.spatial import make_index


def _config(**extra):
    base = {"seed": 9, "agents.system": 60, "agents.independent": 60, "agents.control": 60}
    base.update(extra)
    return SimulationConfig().with_overrides(base)


def test_invariants_hold_over_a_run():
    config = _config(**{"world.width": 40.0, "world.height": 30.0})
    with Simulation(config) as sim:
        seen_ids: set[int] = set(sim.state.ids.tolist())
        for _ in range(150):
            log = sim.step()
            s = sim.state
            assert np.all(np.diff(s.ids) > 0) and s.alive.all()
            assert np.all((s.positions >= 0) & (s.positions <= [40.0, 30.0]))
            assert np.all(s.resources >= 0) and np.all((s.health >= 0) & (s.health <= 100))
            assert np.all(s.starvation <= config.agents.starvation_threshold)
            assert len(s) <= config.agents.population_cap
            assert np.all((sim.resources.amounts >= 0) & (sim.resources.amounts <= 30))
            born = set(log.born_ids.tolist())
            assert not born & seen_ids  # ids never reused
            seen_ids |= born
            assert set(log.died_ids.tolist()) <= set(log.agent_ids.tolist())
            assert log.population_by_type.sum() == len(s)
            assert np.all(np.isin(log.actions, [a.value for a in Action]))


def test_stages_can_be_called_one_by_one():
    with Simulation(_config()) as sim:
        observations, mask = sim.observe()
        n = len(sim.state)
        assert observations.shape == (n,) + sim.observation_builder.shape and observations.dtype == np.float32
        assert mask.shape == (n, len(Action)) and mask[:, Action.PASS].all()
        actions = sim.decide()
        assert actions.shape == (n,) and mask[np.arange(n), actions].all()
        sim.act()
        sim.regenerate_resources()
        sim.update_spatial_index()
        log = sim.log_step()
        assert log.agent_ids.shape == (n,) and log.step == 0 and sim.step_index == 1
        sim.update_observation_channels()
        assert sim.step().step == 1 and sim.step_index == 2
        assert set(sim.stage_seconds) == {s.value for s in Stage}


def test_index_stays_in_sync_with_positions():
    with Simulation(_config()) as sim:
        for _ in range(20):
            sim.step()
            fresh = make_index("kdtree", sim.state.positions).query_radius(sim.state.positions, 4.0)
            kept = sim.agent_index.query_radius(sim.state.positions, 4.0)
            assert np.array_equal(fresh.offsets, kept.offsets) and np.array_equal(fresh.indices, kept.indices)


def test_observation_centre_holds_own_health():
    with Simulation(_config()) as sim:
        obs, _ = sim.observe()
        r = sim.config.observation.radius
        np.testing.assert_allclose(obs[:, 0, r, r], sim.state.health / 100.0, rtol=1e-6)
        assert obs.min() >= 0


def test_nearest_valid_matches_brute_force():
    rng = np.random.default_rng(0)
    points, cands = rng.random((150, 2)) * 20, rng.random((300, 2)) * 20
    cands[10] = cands[11]  # an exact tie: the lower index wins
    points[0] = cands[10] + [0.5, 0.0]
    nb = make_index("kdtree", cands).query_radius(points, 3.0)
    valid_node = rng.random(300) < 0.7
    valid_node[[10, 11]] = True
    rows, d2 = pair_distances(points, cands, nb)
    got = nearest_valid(150, rows, nb.indices, d2, valid_node[nb.indices] & (d2 <= 2.5 ** 2))
    for i, p in enumerate(points):
        d2_all = ((cands - p) ** 2).sum(1)
        d2_all[~valid_node | (d2_all > 6.25)] = np.inf
        assert got[i] == (-1 if np.isinf(d2_all.min()) else int(np.argmin(d2_all)))
    assert got[0] == 10


def test_run_simulation_logs_every_step(tmp_path):
    db = tmp_path / "run.db"
    summary = run_simulation(_config(**{"storage.db_path": str(db)}), 25)
    assert summary.steps == 25 and summary.run_id == 1
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM simulation_steps").fetchone()[0] == 25
        assert conn.execute("SELECT status FROM simulations").fetchone()[0] == "completed"


def test_exception_inside_the_context_marks_the_run_failed(tmp_path):
    db = tmp_path / "run.db"
    with pytest.raises(RuntimeError):
        with Simulation(_config(**{"storage.db_path": str(db)})) as sim:
            sim.run(5)
            raise RuntimeError("boom")
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT status FROM simulations").fetchone()[0] == "failed"
        assert conn.execute("SELECT COUNT(*) FROM simulation_steps").fetchone()[0] == 5


def test_extinction_is_survivable():
    config = _config(**{"agents.system": 3, "agents.independent": 0, "agents.control": 0,
                        "agents.starvation_threshold": 0, "agents.initial_resources": 0.0,
                        "resources.count": 0})
    with Simulation(config) as sim:
        first = sim.step()
        # No resources and a threshold of 0: every agent starves to death in step 0.
        assert first.died_ids.tolist() == [0, 1, 2] and first.population_by_type.tolist() == [0, 0, 0]
        assert first.rewards.tolist() == [-10.0] * 3  # death_penalty, nothing gathered
        for step in range(1, 5):
            log = sim.step()
            assert log.step == step and len(log.agent_ids) == len(log.died_ids) == len(log.born_ids) == 0
            assert log.population_by_type.tolist() == [0, 0, 0]
        observations, mask = sim.observe()
        assert observations.shape == (0, *sim.observation_builder.shape) and mask.shape == (0, 7)
        assert len(sim.state) == 0 and sim.state.next_id == 3
