import json

import pytest

from farm.config import SimulationConfig, config_from_dict
from farm.decision.config import (
    DDQNConfig,
    DecisionConfig,
    NetworkConfig,
    NetworkKind,
    PolicyKind,
    PPOConfig,
    SharingMode,
    TargetUpdate,
)


def test_defaults_are_shared_mlp_one_thread():
    config = DecisionConfig()
    assert config.sharing is SharingMode.SHARED
    assert config.network.kind is NetworkKind.MLP
    assert config.torch_threads == 1
    assert config.ddqn.target_update is TargetUpdate.SOFT


def test_strings_coerce_to_enums():
    config = DecisionConfig(system="ddqn", control="PPO", sharing="per_agent", network=NetworkConfig(kind="cnn"))
    assert config.system is PolicyKind.DDQN and config.control is PolicyKind.PPO
    assert config.sharing is SharingMode.PER_AGENT
    assert config.network.kind is NetworkKind.CNN
    assert PolicyKind.DDQN.learns and PolicyKind.PPO.learns and not PolicyKind.RULE.learns


@pytest.mark.parametrize(
    "build, field",
    [
        (lambda: DecisionConfig(system="dqn"), "decision.system"),
        (lambda: DecisionConfig(torch_threads=0), "decision.torch_threads"),
        (lambda: DecisionConfig(checkpoint_dir=""), "decision.checkpoint_dir"),
        (lambda: NetworkConfig(hidden_sizes=()), "decision.network.hidden_sizes"),
        (lambda: NetworkConfig(cnn_channels=(8,)), "decision.network.cnn_channels"),
        (lambda: DDQNConfig(gamma=1.5), "decision.ddqn.gamma"),
        (lambda: DDQNConfig(tau=0.0), "decision.ddqn.tau"),
        (lambda: DDQNConfig(buffer_size=0), "decision.ddqn.buffer_size"),
        (lambda: DDQNConfig(target_update="sometimes"), "decision.ddqn.target_update"),
        (lambda: PPOConfig(clip_coef=0), "decision.ppo.clip_coef"),
        (lambda: PPOConfig(num_minibatches=0), "decision.ppo.num_minibatches"),
        # Above float32's largest value torch failed at the first training step.
        (lambda: PPOConfig(learning_rate=1e39), "decision.ppo.learning_rate"),
        (lambda: DDQNConfig(learning_rate=1e39), "decision.ddqn.learning_rate"),
    ],
)
def test_invalid_values_name_the_field(build, field):
    with pytest.raises(ValueError, match=field.replace(".", r"\.")):
        build()


def test_epsilon_decays_linearly_then_stays():
    config = DDQNConfig(epsilon_start=1.0, epsilon_end=0.1, epsilon_decay_steps=100)
    assert config.epsilon_at(0) == 1.0
    assert config.epsilon_at(50) == pytest.approx(0.55)
    assert config.epsilon_at(100) == pytest.approx(0.1)
    assert config.epsilon_at(10_000) == pytest.approx(0.1)


def test_nested_sections_round_trip_through_overrides():
    config = SimulationConfig().with_overrides(
        {"decision.system": "ddqn", "decision.ddqn": {"buffer_size": 500, "target_update": "hard"},
         "decision.network": {"kind": "cnn", "hidden_sizes": [32]}}
    )
    assert config.decision.system is PolicyKind.DDQN
    assert config.decision.ddqn.buffer_size == 500 and config.decision.ddqn.target_update is TargetUpdate.HARD
    assert config.decision.network.hidden_sizes == (32,)
    assert config_from_dict(SimulationConfig, json.loads(config.to_json())) == config
