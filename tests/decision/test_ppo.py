import numpy as np
import pytest
import torch
from decision_tasks import ContextualBandit, Corridor

from farm.decision.config import DecisionConfig, NetworkConfig, PPOConfig
from farm.decision.learning import SHARED_KEY
from farm.decision.ppo import PPOPolicy, RolloutBuffer, compute_gae

OBS_SHAPE = (2, 5, 5)


def _gae_by_sums(rewards, values, dones, last_values, gamma, lam):
    """Brute force, one agent and one step at a time: A_t = sum_l (gamma*lam)^l delta_{t+l},
    summed until (and including) the first terminal transition."""
    steps, agents = rewards.shape
    out = np.zeros((steps, agents))
    for n in range(agents):
        for t in range(steps):
            total, weight = 0.0, 1.0
            for k in range(t, steps):
                next_value = last_values[n] if k == steps - 1 else values[k + 1, n]
                delta = rewards[k, n] + gamma * next_value * (not dones[k, n]) - values[k, n]
                total += weight * delta
                if dones[k, n]:
                    break
                weight *= gamma * lam
            out[t, n] = total
    return out


def test_gae_hand_computed():
    rewards = np.array([[1.0], [0.0], [2.0]])
    values = np.array([[0.5], [1.0], [0.2]])
    last = np.array([0.4])
    # delta_2 = 2 + 0.9*0.4 - 0.2 = 2.16;  delta_1 = 0.9*0.2 - 1 = -0.82;  delta_0 = 1 + 0.9 - 0.5 = 1.4
    # A_2 = 2.16;  A_1 = -0.82 + 0.72*2.16 = 0.7352;  A_0 = 1.4 + 0.72*0.7352 = 1.929344
    advantages, returns = compute_gae(rewards, values, np.zeros((3, 1), bool), last, gamma=0.9, gae_lambda=0.8)
    np.testing.assert_allclose(advantages[:, 0], [1.929344, 0.7352, 2.16])
    np.testing.assert_allclose(returns, advantages + values)
    # a death at t=1 stops the bootstrap: delta_1 = 0 - 1 = -1 = A_1;  A_0 = 1.4 + 0.72*(-1) = 0.68
    advantages, _ = compute_gae(rewards, values, np.array([[False], [True], [False]]), last, 0.9, 0.8)
    np.testing.assert_allclose(advantages[:, 0], [0.68, -1.0, 2.16])


@pytest.mark.parametrize("gamma, lam", [(0.99, 0.95), (0.9, 0.0), (0.5, 1.0)])
def test_gae_matches_a_plain_loop(gamma, lam):
    rng = np.random.default_rng(0)
    rewards, values = rng.normal(size=(12, 5)), rng.normal(size=(12, 5))
    dones, last = rng.random((12, 5)) < 0.2, rng.normal(size=5)
    advantages, returns = compute_gae(rewards, values, dones, last, gamma, lam)
    np.testing.assert_allclose(advantages, _gae_by_sums(rewards, values, dones, last, gamma, lam), atol=1e-12)
    np.testing.assert_allclose(returns, advantages + values)


def test_rollout_buffer_follows_each_agent_through_births_and_deaths():
    """Agents 0..2 start; 1 dies at step 1; 3 is born at step 2; rows arrive unsorted."""
    rng = np.random.default_rng(1)
    schedule = [[2, 0, 1], [1, 2, 0], [3, 0, 2], [2, 3, 0]]
    died = {(1, 1)}  # (step, agent)
    buffer = RolloutBuffer()
    for t, ids in enumerate(schedule):
        n = len(ids)
        buffer.add(agent_ids=np.array(ids), observations=np.full((n, 1, 1, 1), t, np.float32),
                   action_masks=np.ones((n, 7), bool), actions=np.arange(n), logprobs=np.zeros(n, np.float32),
                   values=rng.normal(size=n), rewards=rng.normal(size=n),
                   dones=np.array([(t, a) in died for a in ids]))
    next_ids, next_values = np.array([0, 3, 2]), np.array([0.3, -0.2, 0.7])
    rollout = buffer.finish(next_ids, next_values, gamma=0.9, gae_lambda=0.8)
    assert rollout.observations.shape == (12, 1, 1, 1) and rollout.advantages.dtype == np.float32
    for agent in range(4):
        rows = [(t, i) for t, ids in enumerate(schedule) for i, a in enumerate(ids) if a == agent]
        flat = [sum(len(s) for s in schedule[:t]) + i for t, i in rows]
        r = np.array([[buffer.steps[t]["rewards"][i]] for t, i in rows])
        v = np.array([[buffer.steps[t]["values"][i]] for t, i in rows])
        d = np.array([[buffer.steps[t]["dones"][i]] for t, i in rows])
        last = np.array([dict(zip(next_ids.tolist(), next_values))[agent]]) if agent != 1 else np.zeros(1)
        expected = _gae_by_sums(r, v, d, last, 0.9, 0.8)[:, 0]
        np.testing.assert_allclose(rollout.advantages[flat], expected, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(rollout.returns[flat], expected + v[:, 0], rtol=1e-5, atol=1e-6)


def _inputs(n: int, seed: int):
    rng = np.random.default_rng(seed)
    observations = rng.random((n,) + OBS_SHAPE).astype(np.float32)
    mask = rng.random((n, 7)) < 0.3
    mask[np.arange(n), rng.integers(0, 7, n)] = True
    return np.arange(n, dtype=np.int64), observations, mask


@pytest.mark.parametrize("network", ["mlp", "cnn"])
def test_act_shapes_dtypes_masking_and_sampling(network):
    policy = PPOPolicy(DecisionConfig(network=NetworkConfig(kind=network)), OBS_SHAPE, seed=0)
    _, observations, mask = _inputs(2000, seed=1)
    actions = policy.act(observations, mask)
    assert actions.shape == (2000,) and actions.dtype == np.int64
    assert mask[np.arange(2000), actions].all()
    # sampled in proportion to the masked softmax: one row repeated many times
    one = np.repeat(observations[:1], 20_000, axis=0)
    one_mask = np.repeat(np.array([[True, False, True, True, False, False, True]]), 20_000, axis=0)
    with torch.no_grad():
        logits = policy.learners[-1].network(torch.from_numpy(observations[:1]))[0, :7]
    expected = torch.softmax(logits[[0, 2, 3, 6]], 0).numpy()
    counts = np.bincount(policy.act(one, one_mask), minlength=7)
    np.testing.assert_allclose(counts[[0, 2, 3, 6]] / 20_000, expected, atol=0.015)


def _drive(policy, steps: int, seed: int):
    ids, observations, mask = _inputs(20, seed)
    rng = np.random.default_rng(seed)
    log = []
    for _ in range(steps):
        actions = policy.act(observations, mask)
        metrics = policy.record(ids, observations, mask, actions, rng.random(20), np.zeros(20, bool))
        log.append((actions, metrics))
        observations = rng.random(observations.shape).astype(np.float32)
    return log


def test_same_seed_same_actions_and_metrics_and_update_schedule():
    config = DecisionConfig(ppo=PPOConfig(rollout_steps=4, num_minibatches=2, update_epochs=2))
    logs = [_drive(PPOPolicy(config, OBS_SHAPE, seed=5), 13, seed=9) for _ in range(2)]
    for (a1, m1), (a2, m2) in zip(*logs):
        np.testing.assert_array_equal(a1, a2)
        assert m1 == m2
    # the rollout of steps 1-4 trains when step 5 brings the bootstrap values, and so on
    assert [i + 1 for i, (_, m) in enumerate(logs[0]) if m] == [5, 9, 13]
    metrics = logs[0][4][1]
    assert {"loss", "policy_loss", "value_loss", "entropy", "approx_kl", "clip_fraction"} <= set(metrics)
    assert metrics["rollout_transitions"] == 80.0
    assert 0 < metrics["entropy"] <= np.log(7)


def test_learns_a_contextual_bandit():
    config = DecisionConfig(network=NetworkConfig(hidden_sizes=(32,)),
                            ppo=PPOConfig(rollout_steps=8, learning_rate=1e-2, entropy_coef=0.0))
    policy = PPOPolicy(config, ContextualBandit.obs_shape, seed=0)
    mean_reward = ContextualBandit(n=32, seed=1).run(policy, steps=200)
    assert mean_reward >= 0.9  # random choice among ~6 valid actions earns ~0.17
    assert policy.learners[SHARED_KEY].updates >= 20  # 200 steps / rollouts of 8 (speed: asv)


def test_learns_a_corridor():
    config = DecisionConfig(network=NetworkConfig(hidden_sizes=(32,)),
                            ppo=PPOConfig(rollout_steps=16, learning_rate=3e-3, gamma=0.9))
    env = Corridor(n=16, length=6, seed=2)
    policy = PPOPolicy(config, env.obs_shape, seed=0)
    env.run(policy, steps=600)
    observations, mask = env.views(np.arange(5))
    with torch.no_grad():
        logprobs, _ = policy.learners[-1]._evaluate(torch.from_numpy(observations), torch.from_numpy(mask))
    assert (logprobs[:, 0].exp() > 0.9).all()  # MOVE in every cell
    assert env.run(policy, steps=40) >= 0.9 * 40 * 16 / 4  # near-greedy: <= 4 steps each


def test_per_agent_mode_and_checkpoint_round_trip(tmp_path):
    config = DecisionConfig(sharing="per_agent", ppo=PPOConfig(rollout_steps=3))
    policy = PPOPolicy(config, OBS_SHAPE, seed=1, name="control_ppo")
    ids, observations, mask = _inputs(5, seed=0)
    for _ in range(4):
        actions = policy.act_agents(ids, observations, mask)
        assert mask[np.arange(5), actions].all()
        metrics = policy.record(ids, observations, mask, actions, np.ones(5), np.zeros(5, bool))
    assert sorted(policy.learners) == [0, 1, 2, 3, 4] and metrics["learners_trained"] == 5.0
    path = policy.save_checkpoint(tmp_path / "control_ppo.pt")
    restored = PPOPolicy(config, OBS_SHAPE, seed=2, name="control_ppo")
    restored.load_checkpoint(path)
    np.testing.assert_array_equal(
        policy.act_agents(ids, observations, mask), restored.act_agents(ids, observations, mask)
    )
    for key in range(5):
        for p1, p2 in zip(policy.learners[key].network.parameters(), restored.learners[key].network.parameters()):
            assert torch.equal(p1, p2)
