"""The stages of the step loop: learn apart from act, channel updates apart from log_step, each
stage callable alone, policies' protocols decided at build time, run status as an enum."""

import sqlite3

import numpy as np
import pytest

import farm.core.simulation as simulation_module
from farm import Action, Simulation, SimulationConfig
from farm.core.outcomes import ActOutcome, LearnOutcome
from farm.core.simulation import Stage
from farm.storage import open_run
from farm.storage.status import RunStatus


class RecordingPolicy:
    """A LearningPolicy stub: always MOVEs, keeps every ``record`` call."""

    def __init__(self):
        self.calls = []

    def act(self, observations, action_mask):
        return np.full(observations.shape[0], Action.MOVE, dtype=np.int64)

    def record(self, agent_ids, observations, action_mask, actions, rewards, dones):
        self.calls.append({"ids": agent_ids.copy(), "observations": observations.copy(), "actions": actions.copy(),
                           "rewards": rewards.copy(), "dones": dones.copy()})
        return {"loss": float(len(self.calls))}


class AgentAwareStub:
    """An AgentAwarePolicy stub: PASS from ``act_agents``; ``act`` must not be called."""

    def __init__(self):
        self.seen_ids = []

    def act(self, observations, action_mask):
        raise AssertionError("the loop must prefer act_agents")

    def act_agents(self, agent_ids, observations, action_mask):
        self.seen_ids.append(agent_ids.copy())
        return np.full(agent_ids.shape[0], Action.PASS, dtype=np.int64)


def _config(**extra):
    base = {"seed": 3, "agents.system": 5, "agents.independent": 4, "agents.control": 3}
    base.update(extra)
    return SimulationConfig().with_overrides(base)


@pytest.fixture
def stub_policies(monkeypatch):
    made = {}

    def fake_make_policy(policy_config, decision_config, agent_type, obs_shape, seed):
        made[agent_type] = RecordingPolicy()
        return made[agent_type]

    monkeypatch.setattr(simulation_module, "make_policy", fake_make_policy)
    return made


def test_learn_is_not_part_of_act_and_sees_the_agents_that_acted_including_the_dead(stub_policies):
    # Everyone starts with nothing and may not starve a single step: all die in the first act.
    config = _config(**{"agents.initial_resources": 0.0, "agents.starvation_threshold": 0})
    with Simulation(config) as sim:
        ids_before = sim.state.ids.copy()
        observations, _ = sim.observe()
        sim.decide()
        outcome = sim.act()
        assert isinstance(outcome, ActOutcome)
        assert all(not policy.calls for policy in stub_policies.values())
        assert len(sim.state) == 0 and outcome.died.all()
        learned = sim.learn()
        assert isinstance(learned, LearnOutcome)
        assert set(learned.training_metrics) == {"system", "independent", "control"}
        for agent_type, policy in stub_policies.items():
            (call,) = policy.calls
            rows = np.flatnonzero(outcome.agent_types == agent_type)
            np.testing.assert_array_equal(call["ids"], ids_before[rows])
            np.testing.assert_array_equal(call["observations"], observations[rows])
            np.testing.assert_array_equal(call["rewards"], outcome.rewards[rows])
            assert call["dones"].all() and (call["actions"] == Action.MOVE).all()
        sim.regenerate_resources()
        sim.update_spatial_index()
        log = sim.log_step()
        assert log.training_metrics == learned.training_metrics
        np.testing.assert_array_equal(log.died_ids, ids_before)


def test_step_runs_every_stage_once_and_times_each(stub_policies):
    with Simulation(_config()) as sim:
        sim.step()
        sim.step()
        assert list(sim.stage_seconds) == [stage.value for stage in Stage]
        assert Stage.LEARN.value == "learn" and Stage.UPDATE_CHANNELS.value == "update_observation_channels"
        assert all(seconds >= 0.0 for seconds in sim.stage_seconds.values())
        assert all(len(policy.calls) == 2 for policy in stub_policies.values())


def test_channel_updates_run_in_their_own_stage_not_in_log_step():
    fed = []
    with Simulation(_config()) as sim:
        sim.observation_builder.end_step = fed.append
        for stage in (Stage.OBSERVE, Stage.DECIDE, Stage.ACT, Stage.LEARN, Stage.REGENERATE, Stage.UPDATE_INDEX):
            getattr(sim, stage.value)()
        log = sim.log_step()
        assert fed == []
        sim.update_observation_channels()
        assert fed == [log]


def test_stages_called_one_by_one_equal_step():
    """The stage methods in Stage order do exactly what step() does."""
    with Simulation(_config()) as by_stage, Simulation(_config()) as by_step:
        for _ in range(5):
            for stage in Stage:
                getattr(by_stage, stage.value)()
            by_step.step()
        assert by_stage.state.equals(by_step.state)
        np.testing.assert_array_equal(by_stage.resources.amounts, by_step.resources.amounts)


STAGE_NAMES = tuple(stage.value for stage in Stage)
# The six stages that benchmarks written before learn and the channel updates split off call.
OLD_STAGE_NAMES = ("observe", "decide", "act", "regenerate_resources", "update_spatial_index", "log_step")


def _run_and_read(db_path, asynchronous: bool, steps: int, stage_names: tuple[str, ...] | None):
    """Run ``steps`` steps with the log in ``db_path`` (``stage_names``: call these stage methods
    in turn; None: ``step()``), then read back the logged ``(steps, agent_states)``."""
    config = _config(**{"storage.db_path": str(db_path), "storage.asynchronous": asynchronous,
                        "storage.flush_interval": 5, "storage.resource_interval": 4})
    with Simulation(config) as sim:
        for _ in range(steps):
            if stage_names is None:
                sim.step()
            else:
                for name in stage_names:
                    getattr(sim, name)()
        assert sim.step_index == steps
    with open_run(db_path) as run:
        return run.steps(), run.agent_states()


@pytest.mark.parametrize("asynchronous", [False, True], ids=["inline log", "background log"])
@pytest.mark.parametrize("stage_names", [STAGE_NAMES, OLD_STAGE_NAMES], ids=["eight stages", "old six stages"])
def test_stages_called_one_by_one_log_each_step_once_with_its_number(tmp_path, asynchronous, stage_names):
    """log_step numbers the steps: a loop over the stage methods logs steps 0, 1, ... across
    several flushes (it used to log every step as step 0, and the second flush failed on the
    log's unique step key); the eight stages log exactly what step() logs."""
    steps = 12
    logged_steps, states = _run_and_read(tmp_path / "stages.db", asynchronous, steps, stage_names)
    assert logged_steps["step"].tolist() == list(range(steps))
    assert np.unique(states["step"]).tolist() == list(range(steps))
    if stage_names is OLD_STAGE_NAMES:
        return  # without learn and the channel updates the run differs from step()'s
    reference_steps, reference_states = _run_and_read(tmp_path / "step.db", asynchronous, steps, None)
    for name in ("step", "agent_id", "position", "resources", "health", "reward", "action"):
        np.testing.assert_array_equal(states[name], reference_states[name])
    for name in ("population_system", "population_independent", "population_control", "births", "deaths"):
        np.testing.assert_array_equal(logged_steps[name], reference_steps[name])


def test_old_stage_order_without_learn_or_channel_update_still_works():
    """Benchmarks written before the split call these six alone, in this order."""
    with Simulation(_config()) as sim:
        for _ in range(3):
            for name in ("observe", "decide", "act", "regenerate_resources", "update_spatial_index", "log_step"):
                getattr(sim, name)()
        assert len(sim.state) > 0


def test_agent_aware_policies_are_asked_through_act_agents(monkeypatch):
    made = {}

    def fake_make_policy(policy_config, decision_config, agent_type, obs_shape, seed):
        made[agent_type] = AgentAwareStub()
        return made[agent_type]

    monkeypatch.setattr(simulation_module, "make_policy", fake_make_policy)
    with Simulation(_config()) as sim:
        ids = sim.state.ids.copy()
        types = sim.state.agent_types.copy()
        sim.observe()
        assert (sim.decide() == Action.PASS).all()
        for agent_type, policy in made.items():
            np.testing.assert_array_equal(policy.seen_ids[0], ids[types == agent_type])


@pytest.mark.parametrize(
    "status", [RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.INTERRUPTED, "completed", "failed"]
)
def test_close_takes_the_run_status_enum_or_its_value(tmp_path, status):
    sim = Simulation(_config(**{"storage.db_path": str(tmp_path / "run.db")}))
    sim.close(status)
    assert sim.closed
    with sqlite3.connect(tmp_path / "run.db") as db:
        (recorded,) = db.execute("SELECT status FROM simulations").fetchone()
    assert recorded == RunStatus(status).value


@pytest.mark.parametrize("status", [RunStatus.RUNNING, "done"])
def test_close_rejects_a_status_a_run_cannot_end_with(status):
    with Simulation(_config()) as sim:
        with pytest.raises(ValueError, match="status"):
            sim.close(status)


def test_each_policy_gets_its_types_observations_when_rows_are_not_grouped_by_type(monkeypatch):
    """observe() builds the observations grouped by type; rows of mixed types (births append
    at the end) must still reach each policy, and observe()'s row-order result, unchanged."""
    made = {}

    class Keeping(RecordingPolicy):
        def act(self, observations, action_mask):
            self.acted = observations.copy()
            return super().act(observations, action_mask)

    def fake_make_policy(policy_config, decision_config, agent_type, obs_shape, seed):
        made[agent_type] = Keeping()
        return made[agent_type]

    monkeypatch.setattr(simulation_module, "make_policy", fake_make_policy)
    config = SimulationConfig.preset("agentfarm").with_overrides({"seed": 5, "storage.db_path": None})
    with Simulation(config) as sim:
        state = sim.state
        state.agent_types = np.random.default_rng(0).permutation(state.agent_types)  # interleaved types
        expected = sim.observation_builder.build()  # row order, built apart
        observations, _ = sim.observe()
        np.testing.assert_array_equal(observations, expected)
        sim.decide()
        types = state.agent_types.copy()
        sim.act()
        sim.learn()
        for agent_type, policy in made.items():
            rows = np.flatnonzero(types == agent_type)
            np.testing.assert_array_equal(policy.acted, expected[rows])
            np.testing.assert_array_equal(policy.calls[0]["observations"], expected[rows])


@pytest.mark.parametrize("logged", [True, False], ids=["log on disk", "no log"])
def test_a_diverged_training_ends_the_run_in_one_line_and_keeps_the_steps_before(tmp_path, logged):
    """A NaN loss (a learning rate of 1e30, no clipping) used to reach the log, where sqlite
    stores NaN as NULL: the flush failed on training_metrics.value NOT NULL and took the steps of
    its batch with it, while the same run without a log went on with NaN networks."""
    db = tmp_path / "run.db"
    config = _config(**{
        "decision.system": "ddqn", "decision.ddqn.learning_rate": 1e30, "decision.ddqn.max_grad_norm": 1e30,
        "decision.ddqn.learning_starts": 0, "decision.ddqn.batch_size": 8, "decision.ddqn.train_every": 1,
        "storage.db_path": str(db) if logged else None})
    with pytest.raises(ValueError, match=r"system ddqn policy's training diverged at step \d+: its \w+ is nan") as info:
        with Simulation(config) as sim:
            sim.run(50)
    assert "\n" not in str(info.value) and "decision.ddqn.learning_rate" in str(info.value)
    failed_step = sim.step_index
    assert 0 < failed_step < 50
    if logged:
        with open_run(db) as run:
            assert run.status is RunStatus.FAILED
            assert run.steps()["step"].tolist() == list(range(failed_step))
            metrics = run.training_metrics()["system"]
            assert all(np.isfinite(values).all() for _, values in metrics.values())
