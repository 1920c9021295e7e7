"""The learning policies inside the engine's step loop."""

import numpy as np
import pytest

from farm.config import SimulationConfig
from farm.core.simulation import Simulation
from farm.decision import make_policy
from farm.decision.config import PolicyKind
from farm.decision.ddqn import DDQNPolicy
from farm.decision.ppo import PPOPolicy


def _config(kind: str, seed: int = 0, agents_per_type: int = 20, **overrides) -> SimulationConfig:
    changes = {"seed": seed, "agents.system": agents_per_type, "agents.independent": agents_per_type,
               "agents.control": agents_per_type, "decision.system": kind, "decision.independent": kind,
               "decision.control": kind}
    changes.update(overrides)
    return SimulationConfig().with_overrides(changes)


def _mean_reward(config: SimulationConfig, steps: int) -> float:
    with Simulation(config) as sim:
        return float(np.mean([sim.step().mean_reward for _ in range(steps)]))


def test_ddqn_agents_earn_more_than_random_agents_with_the_same_seed():
    """60 agents, 300 steps, seed 0, default DDQN settings. Measured: random 0.094, DDQN 0.174
    mean reward per agent-step (DDQN learns to gather and to avoid costly actions)."""
    random_reward = _mean_reward(_config("random"), 300)
    ddqn_reward = _mean_reward(_config("ddqn"), 300)
    assert ddqn_reward > 1.25 * random_reward, (ddqn_reward, random_reward)


def test_make_policy_builds_learning_policies_named_by_type():
    config = _config("ddqn").decision
    policy = make_policy(PolicyKind.DDQN, config, 2, (4, 11, 11), seed=1)
    assert isinstance(policy, DDQNPolicy) and policy.name == "control_ddqn"
    assert isinstance(make_policy(PolicyKind.PPO, config, 0, (4, 11, 11), seed=1), PPOPolicy)


@pytest.mark.parametrize("kind, sharing", [("ddqn", "shared"), ("ppo", "shared"), ("ddqn", "per_agent")])
def test_training_metrics_reach_the_step_log_and_runs_are_reproducible(kind, sharing):
    overrides = {"decision.sharing": sharing, "decision.ddqn": {"learning_starts": 8, "batch_size": 8},
                 "decision.ppo": {"rollout_steps": 4}}
    config = _config(kind, seed=3, agents_per_type=4, **overrides)
    runs = []
    for _ in range(2):
        with Simulation(config) as sim:
            logs = [sim.step() for _ in range(12)]
            if sharing == "per_agent":  # one network per agent that acted and survived
                survivors = set(logs[-1].agent_ids.tolist()) - set(logs[-1].died_ids.tolist())
                assert set().union(*(p.learners for p in sim.policies.values())) == survivors
        runs.append(logs)
    trained = [log.training_metrics for log in runs[0] if log.training_metrics]
    assert trained and set(trained[-1]) == {"system", "independent", "control"}
    assert "loss" in trained[-1]["system"]
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a.actions, b.actions)
        np.testing.assert_array_equal(a.rewards, b.rewards)
        assert a.training_metrics == b.training_metrics


def test_cli_selects_policies_per_type():
    from farm.cli import build_parser, config_from_args

    args = build_parser().parse_args(["--policy", "ddqn", "--policy-control", "rule", "--db", "none"])
    decision = config_from_args(args).decision
    assert (decision.system, decision.independent, decision.control) == (
        PolicyKind.DDQN,
        PolicyKind.DDQN,
        PolicyKind.RULE,
    )
    with pytest.raises(ValueError, match="decision.system"):
        config_from_args(build_parser().parse_args(["--policy-system", "dqn", "--db", "none"]))
