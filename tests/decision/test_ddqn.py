import numpy as np
import pytest
import torch
from decision_tasks import ContextualBandit, Corridor

from farm.decision.config import DDQNConfig, DecisionConfig, NetworkConfig, SharingMode
from farm.decision.ddqn import DDQNPolicy, double_q_targets, random_valid_actions
from farm.decision.learning import SHARED_KEY
from farm.decision.replay_buffer import TransitionBatch

OBS_SHAPE = (2, 5, 5)


def _inputs(n: int, seed: int):
    rng = np.random.default_rng(seed)
    observations = rng.random((n,) + OBS_SHAPE).astype(np.float32)
    mask = rng.random((n, 7)) < 0.3
    mask[np.arange(n), rng.integers(0, 7, n)] = True
    return np.arange(n, dtype=np.int64), observations, mask


def test_double_q_target_hand_computed():
    rewards = torch.tensor([1.0, 2.0, -1.0])
    dones = torch.tensor([False, True, False])
    next_q_online = torch.tensor([[1.0, 3.0, 2.0], [5.0, 0.0, 0.0], [0.0, 1.0, 0.5]])
    next_q_target = torch.tensor([[10.0, 20.0, 30.0], [7.0, 8.0, 9.0], [4.0, -2.0, 6.0]])
    next_mask = torch.tensor([[True, False, True], [True, True, True], [True, True, True]])
    targets = double_q_targets(rewards, dones, next_q_online, next_q_target, next_mask, gamma=0.9)
    # row 0: online picks action 2 (action 1 is masked), target scores it 30 -> 1 + 0.9 * 30
    # row 1: terminal -> the reward alone
    # row 2: online picks action 1, target scores it -2 (plain DQN would take max = 6)
    torch.testing.assert_close(targets, torch.tensor([28.0, 2.0, -1.0 + 0.9 * -2.0]))


@pytest.mark.parametrize("network", ["mlp", "cnn"])
def test_act_shapes_dtypes_and_masking(network):
    for epsilon in (0.0, 1.0):  # greedy, and exploration: both must respect the mask
        config = DecisionConfig(
            network=NetworkConfig(kind=network), ddqn=DDQNConfig(epsilon_start=epsilon, epsilon_end=epsilon)
        )
        policy = DDQNPolicy(config, OBS_SHAPE, seed=0)
        _, observations, mask = _inputs(500, seed=1)
        actions = policy.act(observations, mask)
        assert actions.shape == (500,) and actions.dtype == np.int64
        assert mask[np.arange(500), actions].all()
    assert len(np.unique(actions)) == 7  # exploration covers every action somewhere


def test_greedy_action_is_the_best_valid_q():
    policy = DDQNPolicy(DecisionConfig(ddqn=DDQNConfig(epsilon_start=0.0, epsilon_end=0.0)), OBS_SHAPE, seed=0)
    _, observations, mask = _inputs(300, seed=2)
    q = policy.learners[-1].q_values(observations)
    expected = [max(np.flatnonzero(m), key=lambda a: q[i, a]) for i, m in enumerate(mask)]
    np.testing.assert_array_equal(policy.act(observations, mask), expected)


def test_random_valid_actions_uniform_over_valid():
    mask = np.zeros((20_000, 7), dtype=bool)
    mask[:, [0, 3, 6]] = True
    actions = random_valid_actions(mask, np.random.default_rng(0))
    counts = np.bincount(actions, minlength=7)
    assert counts[[1, 2, 4, 5]].sum() == 0
    assert np.allclose(counts[[0, 3, 6]] / 20_000, 1 / 3, atol=0.02)


def _drive(policy, steps: int, seed: int):
    ids, observations, mask = _inputs(40, seed)
    rng = np.random.default_rng(seed)
    log = []
    for _ in range(steps):
        actions = policy.act(observations, mask)
        metrics = policy.record(ids, observations, mask, actions, rng.random(40), rng.random(40) < 0.05)
        log.append((actions, metrics))
        observations = rng.random(observations.shape).astype(np.float32)
    return log


def test_same_seed_same_actions_weights_and_metrics():
    config = DecisionConfig(ddqn=DDQNConfig(learning_starts=32, batch_size=16, train_every=2))
    runs = [DDQNPolicy(config, OBS_SHAPE, seed=5) for _ in range(2)]
    logs = [_drive(policy, 30, seed=9) for policy in runs]
    for (a1, m1), (a2, m2) in zip(*logs):
        np.testing.assert_array_equal(a1, a2)
        assert m1 == m2
    assert any(metrics for _, metrics in logs[0])
    for p1, p2 in zip(runs[0].learners[-1].online.parameters(), runs[1].learners[-1].online.parameters()):
        assert torch.equal(p1, p2)
    other = DDQNPolicy(config, OBS_SHAPE, seed=6)
    assert not torch.equal(next(other.learners[-1].online.parameters()), next(runs[0].learners[-1].online.parameters()))


def test_trains_every_n_steps_and_reports_metrics():
    config = DecisionConfig(ddqn=DDQNConfig(learning_starts=50, batch_size=8, train_every=3))
    policy = DDQNPolicy(config, OBS_SHAPE, seed=0)
    log = _drive(policy, 12, seed=1)
    trained = [i + 1 for i, (_, metrics) in enumerate(log) if metrics]
    # 40 transitions per step complete from step 2 on (plus deaths at step 1): >= 50 at step 3
    assert trained == [3, 6, 9, 12]
    assert set(log[2][1]) == {"loss", "mean_q", "epsilon", "grad_norm", "buffer_size"}
    assert log[2][1]["epsilon"] == pytest.approx(config.ddqn.epsilon_at(3))


def _batch(rng, b=8):
    observations = rng.random((b,) + OBS_SHAPE).astype(np.float32)
    return TransitionBatch(observations, rng.integers(0, 7, b), rng.random(b).astype(np.float32),
                           observations[::-1].copy(), rng.random(b) < 0.3, np.ones((b, 7), dtype=bool))


def test_hard_and_soft_target_sync():
    rng = np.random.default_rng(0)
    hard = DDQNPolicy(
        DecisionConfig(ddqn=DDQNConfig(target_update="hard", target_update_every=3)), OBS_SHAPE, 0
    ).learners[-1]
    before = [p.clone() for p in hard.target.parameters()]
    for step in range(1, 4):
        hard.train_on(_batch(rng))
        same = all(torch.equal(t, o) for t, o in zip(hard.target.parameters(), hard.online.parameters()))
        unchanged = all(torch.equal(t, b) for t, b in zip(hard.target.parameters(), before))
        assert (same, unchanged) == ((False, True) if step < 3 else (True, False))
    soft = DDQNPolicy(DecisionConfig(ddqn=DDQNConfig(target_update="soft", tau=0.25)), OBS_SHAPE, 0).learners[-1]
    before = [p.clone() for p in soft.target.parameters()]
    soft.train_on(_batch(rng))
    for t, b, o in zip(soft.target.parameters(), before, soft.online.parameters()):
        torch.testing.assert_close(t, 0.75 * b + 0.25 * o)


def test_train_step_reduces_loss_on_a_fixed_batch():
    policy = DDQNPolicy(DecisionConfig(ddqn=DDQNConfig(learning_rate=1e-2)), OBS_SHAPE, seed=0)
    batch = _batch(np.random.default_rng(4), b=32)
    batch = batch._replace(dones=np.ones(32, dtype=bool))  # fixed targets: plain regression
    losses = [policy.learners[-1].train_on(batch)["loss"] for _ in range(60)]
    assert losses[-1] < 0.1 * losses[0]


def test_learns_a_contextual_bandit():
    config = DecisionConfig(
        network=NetworkConfig(hidden_sizes=(32,)),
        ddqn=DDQNConfig(learning_starts=64, batch_size=64, train_every=1, epsilon_decay_steps=150, epsilon_end=0.0),
    )
    policy = DDQNPolicy(config, ContextualBandit.obs_shape, seed=0)
    mean_reward = ContextualBandit(n=16, seed=1).run(policy, steps=300)
    assert mean_reward >= 0.95  # random choice among ~6 valid actions earns ~0.17
    assert policy.learners[SHARED_KEY].train_steps >= 250  # learned by training, not by luck (speed: asv)


def test_learns_a_corridor_by_bootstrapping():
    """Reward only at the end of a 6-cell corridor: MOVE must win in every cell, which needs the
    discounted targets to propagate back 4 steps."""
    config = DecisionConfig(
        network=NetworkConfig(hidden_sizes=(32,)),
        ddqn=DDQNConfig(learning_starts=64, batch_size=64, train_every=1, epsilon_decay_steps=300,
                        epsilon_end=0.0, gamma=0.9, learning_rate=3e-3),
    )
    env = Corridor(n=16, length=6, seed=2)
    policy = DDQNPolicy(config, env.obs_shape, seed=0)
    env.run(policy, steps=1000)
    observations, mask = env.views(np.arange(5))
    q = policy.learners[-1].q_values(observations)
    greedy = np.where(mask, q, -np.inf).argmax(1)
    assert (greedy == 0).all(), greedy  # MOVE everywhere
    # Q(cell, MOVE) ~ gamma ** (steps to goal - 1): 0.729, 0.81, 0.9, 1.0 for cells 1..4
    np.testing.assert_allclose(q[1:, 0], 0.9 ** np.arange(3, -1, -1), atol=0.03)
    assert env.run(policy, steps=30) >= 30 * 16 / 5  # greedy: each agent needs <= 4 steps


def test_per_agent_mode_one_network_per_agent_created_lazily_and_dropped_on_death():
    config = DecisionConfig(sharing="per_agent", ddqn=DDQNConfig(learning_starts=2, batch_size=2, train_every=1))
    policy = DDQNPolicy(config, OBS_SHAPE, seed=0)
    assert policy.learners == {}
    ids, observations, mask = _inputs(4, seed=0)
    with pytest.raises(ValueError, match="act_agents"):
        policy.act(observations, mask)
    actions = policy.act_agents(ids, observations, mask)
    assert mask[np.arange(4), actions].all()
    assert sorted(policy.learners) == [0, 1, 2, 3]
    first = [next(policy.learners[i].online.parameters()) for i in range(4)]
    assert not torch.equal(first[0], first[1])  # each agent its own initialisation
    dones = np.array([False, True, False, False])
    policy.record(ids, observations, mask, actions, np.ones(4), dones)
    assert sorted(policy.learners) == [0, 2, 3]
    metrics = {}
    for _ in range(2):
        actions = policy.act_agents(ids[~dones], observations[~dones], mask[~dones])
        metrics = policy.record(ids[~dones], observations[~dones], mask[~dones], actions, np.ones(3), np.zeros(3, bool))
    assert metrics["learners_trained"] == 3.0


def test_checkpoint_round_trip(tmp_path):
    config = DecisionConfig(
        ddqn=DDQNConfig(learning_starts=32, batch_size=16, train_every=2),
        checkpoint_dir=str(tmp_path),
        checkpoint_every=10,
    )
    policy = DDQNPolicy(config, OBS_SHAPE, seed=3, name="system_ddqn")
    _drive(policy, 10, seed=1)
    path = tmp_path / "system_ddqn.pt"
    assert path.exists()  # saved automatically at record call 10
    restored = DDQNPolicy(config, OBS_SHAPE, seed=99, name="system_ddqn")
    restored.load_checkpoint(path)
    _, observations, mask = _inputs(64, seed=5)
    np.testing.assert_array_equal(policy.act(observations, mask), restored.act(observations, mask))
    a, b = policy.learners[-1], restored.learners[-1]
    assert a.record_calls == b.record_calls and a.train_steps == b.train_steps
    for p1, p2 in zip(a.target.parameters(), b.target.parameters()):
        assert torch.equal(p1, p2)
    with pytest.raises(ValueError, match="mode"):
        DDQNPolicy(DecisionConfig(sharing=SharingMode.PER_AGENT), OBS_SHAPE, 0, name="x").load_checkpoint(path)
