"""Learning policies (DDQN, PPO): decision latency, training cost, sharing, memory.

The only benchmark module that imports torch (through ``farm.decision.ddqn``/``ppo``). Every
parameter combination is a fresh process paying ~1.5 s for that import, so the grids are small
and ``rounds = 1``. Ratios the issue sets targets for are ``track_*`` benchmarks that time both
sides in the same process (best of several ``timeit`` repeats):

* ``ActBatching.track_act_batch_speedup``: per-agent cost of ``act`` at batch 1 over batch 1 000
  (target >= 10);
* ``SharedSpeedup.track_shared_speedup``: a decision step of 100 agents, per-agent networks over
  one shared network (target >= 20);
* ``TrainStepTarget.track_ddqn_train_step_ms``: one DDQN training step, batch 64, MLP (target <= 3 ms).
"""

from __future__ import annotations

import timeit

import numpy as np

from benchmarks.common import decision_batch

try:
    from farm.decision.config import DDQNConfig, DecisionConfig, NetworkConfig, PPOConfig
    from farm.decision.ddqn import DDQNPolicy
    from farm.decision.ppo import PPOPolicy
except ImportError:  # a commit older than the learning policies
    DecisionConfig = DDQNPolicy = PPOPolicy = None

OBS_SHAPE = (4, 11, 11)  # the engine's default view: 4 channels, radius 5


def _require_api() -> None:
    if DDQNPolicy is None:
        raise NotImplementedError("farm.decision.ddqn / ppo are not available at this commit")


def _policy(algorithm: str, network: str = "mlp", sharing: str = "shared", seed: int = 0, **ddqn):
    """A policy over :data:`OBS_SHAPE` with greedy acting (no exploration branch)."""
    _require_api()
    config = DecisionConfig(
        network=NetworkConfig(kind=network),
        sharing=sharing,
        ddqn=DDQNConfig(epsilon_start=0.0, epsilon_end=0.0, **ddqn),
        ppo=PPOConfig(),
    )
    cls = DDQNPolicy if algorithm == "ddqn" else PPOPolicy
    return cls(config, OBS_SHAPE, seed=seed)


def _best_seconds(call, number: int, repeat: int = 5) -> float:
    """Best-of-``repeat`` mean seconds of one ``call()``."""
    return min(timeit.repeat(call, number=number, repeat=repeat)) / number


class ActLatency:
    """Decision latency per agent (microseconds) of one batched ``act``."""

    version = 1
    params = (
        ["ddqn", "ppo"],  # algorithm
        ["mlp", "cnn"],  # network
        [1, 100, 1_000],  # batch: agents of one type deciding together
    )
    param_names = ["algorithm", "network", "batch"]
    unit = "us"
    rounds = 1
    repeat = 1
    timeout = 120

    def setup(self, algorithm, network, batch):
        self.policy = _policy(algorithm, network)
        _, self.observations, self.action_mask, _ = decision_batch(batch, OBS_SHAPE, seed=1)
        self.calls = max(1, 200 // batch)

    def track_act_us_per_agent(self, algorithm, network, batch):
        return 1e6 * self._seconds_per_call() / batch

    def _seconds_per_call(self) -> float:
        return _best_seconds(lambda: self.policy.act(self.observations, self.action_mask), self.calls)


class ActBatching:
    """How much cheaper one agent's DDQN decision gets in a batch of 1 000 than alone (PPO's
    ``act`` runs the same network; ``ActLatency`` has both)."""

    version = 1
    params = (["mlp", "cnn"],)  # network
    param_names = ["network"]
    unit = "ratio"
    rounds = 1
    repeat = 1
    timeout = 120

    def setup(self, network):
        self.policy = _policy("ddqn", network)
        self.one = decision_batch(1, OBS_SHAPE, seed=1)
        self.thousand = decision_batch(1_000, OBS_SHAPE, seed=1)

    def track_act_batch_speedup(self, network):
        alone = _best_seconds(lambda: self.policy.act(self.one[1], self.one[2]), 200)
        batched = _best_seconds(lambda: self.policy.act(self.thousand[1], self.thousand[2]), 5) / 1_000
        return alone / batched


class TrainStep:
    """One training step: a DDQN gradient step on a sampled batch of 64 from a full replay
    buffer, or a PPO update (4 epochs x 4 minibatches) of a 16-step rollout of 100 agents."""

    version = 1
    params = (["ddqn", "ppo"], ["mlp", "cnn"])  # algorithm, network
    param_names = ["algorithm", "network"]
    rounds = 1
    repeat = (1, 10, 5.0)
    timeout = 120

    def setup(self, algorithm, network):
        if algorithm == "ppo":
            _require_api()
            config = DecisionConfig(network=NetworkConfig(kind=network), ppo=PPOConfig(rollout_steps=16))
            self.policy = PPOPolicy(config, OBS_SHAPE, seed=0)
            ids, observations, mask, rewards = decision_batch(100, OBS_SHAPE, seed=2)
            actions = self.policy.act(observations, mask)
            dones = np.zeros(100, dtype=bool)
            for _ in range(16):
                self.policy.record(ids, observations, mask, actions, rewards, dones)
            learner = self.policy.learners[-1]
            self.rollout = learner.rollout.finish(ids, np.zeros(100), 0.95, 0.95)
            self.train = lambda: learner.update(self.rollout)
        else:
            self.policy = _policy("ddqn", network, buffer_size=10_000, batch_size=64)
            learner = self.policy.learners[-1]
            ids, observations, mask, rewards = decision_batch(10_000, OBS_SHAPE, seed=2)
            actions = np.random.default_rng(3).integers(0, 7, 10_000)
            learner.buffer.add(observations, actions, rewards.astype(np.float32), observations[::-1],
                               rewards > 1.5, mask[::-1])
            self.train = learner.train_step
        self.train()  # first call allocates optimiser state

    def time_train_step(self, algorithm, network):
        self.train()


class TrainStepTarget:
    """One DDQN training step, batch 64, MLP, in milliseconds (best of 5 x 50 steps)."""

    version = 1
    unit = "ms"
    rounds = 1
    repeat = 1
    timeout = 120

    def setup(self):
        TrainStep.setup(self, "ddqn", "mlp")

    def track_ddqn_train_step_ms(self):
        return 1e3 * _best_seconds(self.train, 50)


def _sharing_policy(sharing: str):
    """DDQN over 100 agents, warmed up until every replay buffer (one per agent in per-agent
    mode) is past ``learning_starts``, so steps train as they would in a long run."""
    policy = _policy("ddqn", "mlp", sharing, learning_starts=8, batch_size=64, train_every=2,
                     per_agent_buffer_size=1_000)
    for _ in range(10):
        _decision_step(policy)
    return policy


_SHARING_INPUTS = decision_batch(100, OBS_SHAPE, seed=4)


def _decision_step(policy) -> None:
    ids, observations, mask, rewards = _SHARING_INPUTS
    actions = policy.act_agents(ids, observations, mask)
    policy.record(ids, observations, mask, actions, rewards, np.zeros(ids.size, dtype=bool))


def _two_decision_steps(policy) -> None:
    """One step with a training step and one without (``train_every = 2``)."""
    _decision_step(policy)
    _decision_step(policy)


class StepSharing:
    """Two decision steps of 100 agents (``act_agents`` + ``record``, one of them training):
    one shared network against one network per agent."""

    version = 1
    params = (["shared", "per_agent"],)  # sharing
    param_names = ["sharing"]
    rounds = 1
    repeat = (1, 10, 10.0)
    timeout = 180

    def setup(self, sharing):
        self.policy = _sharing_policy(sharing)

    def time_two_decision_steps(self, sharing):
        _two_decision_steps(self.policy)


class SharedSpeedup:
    """Per-agent mode's time for the same two decision steps of 100 agents over shared mode's."""

    version = 1
    unit = "ratio"
    rounds = 1
    repeat = 1
    timeout = 180

    def setup(self):
        self.shared = _sharing_policy("shared")
        self.per_agent = _sharing_policy("per_agent")

    def track_shared_speedup(self):
        shared = _best_seconds(lambda: _two_decision_steps(self.shared), 20, repeat=3)
        per_agent = _best_seconds(lambda: _two_decision_steps(self.per_agent), 2, repeat=3)
        return per_agent / shared


class Memory:
    """Peak memory of a DDQN policy whose replay buffer is filled to its configured size
    (``buffer_size`` transitions of a (4, 11, 11) view: about 3.9 kB each), against the floor
    of a process that only imported torch."""

    version = 1
    params = ([10_000, 100_000],)  # buffer_size
    param_names = ["buffer_size"]
    rounds = 1
    repeat = 1
    timeout = 120

    def setup(self, buffer_size):
        _require_api()
        self.chunk = decision_batch(1_000, OBS_SHAPE, seed=5)

    def peakmem_ddqn_with_full_buffer(self, buffer_size):
        self._fill(_policy("ddqn", "mlp", buffer_size=buffer_size), buffer_size)

    def _fill(self, policy, buffer_size: int) -> None:
        ids, observations, mask, rewards = self.chunk
        buffer = policy.learners[-1].buffer
        actions = np.zeros(ids.size, dtype=np.int64)
        for _ in range(buffer_size // ids.size):
            buffer.add(observations, actions, rewards.astype(np.float32), observations, rewards > 0, mask)


class MemoryFloor:
    """Peak memory of a process that imported this module (torch included) and did nothing."""

    version = 1
    rounds = 1
    repeat = 1

    def peakmem_torch_imported_floor(self):
        pass
