"""Learning policies (DDQN, PPO): decision latency, training cost, sharing, memory.

The only benchmark module that imports torch (through ``farm.decision.ddqn``/``ppo``, on first
use: see :func:`_load_api`). Every spawned parameter combination pays ~1.5 s for that import, so
the grids are small and ``rounds = 1``. Ratios the issue sets targets for are ``track_*`` benchmarks that time both
sides in the same process (``common.best_of``):

* ``ActBatching.track_act_batch_speedup``: per-agent cost of ``act`` at batch 1 over batch 1 000
  (target >= 10);
* ``SharedSpeedup.track_shared_speedup``: a decision step of 100 agents, per-agent networks over
  one shared network (target >= 20);
* ``TrainStepTarget.track_ddqn_train_step_ms``: one DDQN training step, batch 64, MLP (target <= 3 ms).
"""

from __future__ import annotations

import functools

import numpy as np

from .common import ONE_WARMUP_CALL, best_of, decision_batch, in_fork_server, memoize, timed

# The learning-policy API, imported on first use by :func:`_load_api` (torch comes with it, ~1.5 s):
# asv's discovery imports every benchmark module in a fresh interpreter once per ``asv run``
# and never builds a policy, so it no longer pays torch (issue 13's per-commit budget). The fork
# server imports it at once (below) so that forked children inherit it, and a spawned
# peak-memory process imports it in ``setup``: the same process, so the same peak.
DecisionConfig = DDQNConfig = NetworkConfig = PPOConfig = DDQNPolicy = PPOPolicy = None


def _load_api() -> bool:
    """Import ``farm.decision``'s configs and policies into this module's globals (once).

    Returns:
        False at a commit older than the learning policies.
    """
    global DecisionConfig, DDQNConfig, NetworkConfig, PPOConfig, DDQNPolicy, PPOPolicy
    if DDQNPolicy is None:
        try:
            from farm.decision.config import DDQNConfig, DecisionConfig, NetworkConfig, PPOConfig
            from farm.decision.ddqn import DDQNPolicy
            from farm.decision.ppo import PPOPolicy
        except ImportError:  # a commit older than the learning policies
            return False
    return True

OBS_SHAPE = (4, 11, 11)  # the engine's default view: 4 channels, radius 5


def _warm_torch_optimizers() -> None:
    """Build one throwaway Adam optimizer: torch imports ``torch._dynamo`` (~800 modules, ~1.1 s)
    the first time an optimizer is built, in the ``setup`` of every benchmark here that builds a
    policy. Done once in the fork server, its forked children inherit the import (see
    ``common.in_fork_server``); spawned peak-memory processes still pay it inside their workload.
    Not done from the commit whose policies step Adam without torch.optim (``farm.decision.adam``):
    they never import it."""
    try:
        import torch
    except ImportError:  # no torch: the benchmarks skip anyway
        return
    try:
        import farm.decision.adam  # noqa: F401
        return
    except ImportError:
        pass
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])


if in_fork_server() and _load_api():
    _warm_torch_optimizers()


def _require_api() -> None:
    if not _load_api():
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
        return best_of(timed(lambda: self.policy.act(self.observations, self.action_mask), self.calls))


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
        alone = best_of(timed(lambda: self.policy.act(self.one[1], self.one[2]), 200))
        batched = best_of(timed(lambda: self.policy.act(self.thousand[1], self.thousand[2]), 5)) / 1_000
        return alone / batched


@memoize
def _train_step(algorithm: str, network: str):
    """``TrainStep``'s call at ``(algorithm, network)``, prepared once per process: asv_runner
    re-runs ``setup`` before every timed call, and preparing costs far more than a call (a 10 000
    transition buffer; 16 recorded steps and a first update). Each call is one more training step
    of the same learner and does the same work as the first: DDQN draws its batch of 64 with
    replacement, PPO updates the same 16-step rollout (4 epochs x 4 minibatches)."""
    if algorithm == "ppo":
        _require_api()
        config = DecisionConfig(network=NetworkConfig(kind=network), ppo=PPOConfig(rollout_steps=16))
        policy = PPOPolicy(config, OBS_SHAPE, seed=0)
        ids, observations, mask, rewards = decision_batch(100, OBS_SHAPE, seed=2)
        actions = policy.act(observations, mask)
        dones = np.zeros(100, dtype=bool)
        for _ in range(16):
            policy.record(ids, observations, mask, actions, rewards, dones)
        learner = policy.learners[-1]
        rollout = learner.rollout.finish(ids, np.zeros(100), 0.95, 0.95)
        train = functools.partial(learner.update, rollout)
    else:
        policy = _policy("ddqn", network, buffer_size=10_000, batch_size=64)
        learner = policy.learners[-1]
        ids, observations, mask, rewards = decision_batch(10_000, OBS_SHAPE, seed=2)
        actions = np.random.default_rng(3).integers(0, 7, 10_000)
        learner.buffer.add(observations, actions, rewards.astype(np.float32), observations[::-1],
                           rewards > 1.5, mask[::-1])
        train = learner.train_step
    train()  # first call allocates optimiser state
    return train


class TrainStep:
    """One training step: a DDQN gradient step on a sampled batch of 64 from a full replay
    buffer, or a PPO update (4 epochs x 4 minibatches) of a 16-step rollout of 100 agents."""

    version = 1
    params = (["ddqn", "ppo"], ["mlp", "cnn"])  # algorithm, network
    param_names = ["algorithm", "network"]
    rounds = 1
    number = 1  # 1.4 ms and more per call
    repeat = (3, 6, 1.0)  # (3, 10, 1.0) until issue 13's second cut
    warmup_time = ONE_WARMUP_CALL
    timeout = 120

    def setup(self, algorithm, network):
        self.train = _train_step(algorithm, network)

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
        return 1e3 * best_of(timed(self.train, 50))


def _sharing_policy(sharing: str):
    """DDQN over 100 agents, warmed up until every replay buffer (one per agent in per-agent
    mode) is past ``learning_starts``, so steps train as they would in a long run."""
    policy = _policy("ddqn", "mlp", sharing, learning_starts=8, batch_size=64, train_every=2,
                     per_agent_buffer_size=1_000)
    for _ in range(10):
        _decision_step(policy)
    return policy


_shared_sharing_policy = memoize(_sharing_policy)


@memoize
def _sharing_inputs():
    return decision_batch(100, OBS_SHAPE, seed=4)


def _decision_step(policy) -> None:
    ids, observations, mask, rewards = _sharing_inputs()
    actions = policy.act_agents(ids, observations, mask)
    policy.record(ids, observations, mask, actions, rewards, np.zeros(ids.size, dtype=bool))


def _two_decision_steps(policy) -> None:
    """One step with a training step and one without (``train_every = 2``)."""
    _decision_step(policy)
    _decision_step(policy)


class StepSharing:
    """Two decision steps of 100 agents (``act_agents`` + ``record``, one of them training):
    one shared network against one network per agent. Version 2: each call continues one warmed-up
    run per process (version 1 warmed up a fresh policy before every call); the shared case reads
    about 7 % higher, so the two are separate lines in the history."""

    version = 2
    params = (["shared", "per_agent"],)  # sharing
    param_names = ["sharing"]
    rounds = 1
    number = 1  # 1.4 ms (shared) and 120 ms (per agent) per call; the call advances the run
    repeat = (3, 6, 1.0)  # (3, 10, 1.0) until issue 13's second cut
    warmup_time = ONE_WARMUP_CALL
    timeout = 180

    def setup(self, sharing):
        # One warmed-up policy per process (asv_runner re-runs setup before every call; the 10
        # warm-up steps of the per-agent policy cost ~1 s): each call is two more steps of the same
        # run, the same work as the first two (batches of 64 drawn with replacement).
        self.policy = _shared_sharing_policy(sharing)

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
        shared = best_of(timed(lambda: _two_decision_steps(self.shared), 20))
        per_agent = best_of(timed(lambda: _two_decision_steps(self.per_agent), 2))
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
    """Peak memory of a process that imported this module (torch included) and did nothing.

    Commits older than the learning policies import this module without torch: no torch floor
    there, so the benchmark skips (it measured a torch-free process there before)."""

    version = 1
    rounds = 1
    repeat = 1

    def setup(self):
        _require_api()

    def peakmem_torch_imported_floor(self):
        pass


# --- training frequency and the peak memory of acting and of PPO (issue 16) --------------------
# Self-contained (own builder and constants) so that edits to the classes above never change
# what these measure. The view is the AgentFarm preset's: 13 channels at radius 5.

TRAIN_EVERY = [1, 2, 4, 8]
LOOP_OBS_SHAPE = (13, 11, 11)
LOOP_AGENTS = 1_000
_LOOPS: dict = {}


def _loop_policy(algorithm: str, **ddqn):
    """A shared MLP policy over :data:`LOOP_OBS_SHAPE` (seed 0), DDQN fields overridden."""
    _require_api()
    cls = DDQNPolicy if algorithm == "ddqn" else PPOPolicy
    try:
        config = DecisionConfig(network=NetworkConfig(kind="mlp"), sharing="shared", ddqn=DDQNConfig(**ddqn),
                                ppo=PPOConfig())
        return cls(config, LOOP_OBS_SHAPE, seed=0)
    except TypeError as exc:  # a commit whose configs or policies take other arguments
        raise NotImplementedError(f"{cls.__name__} with {sorted(ddqn)}: {exc}") from None


class _DecisionLoop:
    """The decision part of a simulation step for 1 000 agents of one type: ``act`` on the
    observations, then ``record`` of the transitions (which trains on the configured steps)."""

    def __init__(self, policy) -> None:
        self.policy = policy
        self.ids, self.observations, self.mask, self.rewards = decision_batch(LOOP_AGENTS, LOOP_OBS_SHAPE, seed=21)
        self.dones = np.zeros(LOOP_AGENTS, dtype=np.bool_)

    def step(self) -> None:
        actions = self.policy.act(self.observations, self.mask)
        self.policy.record(self.ids, self.observations, self.mask, actions, self.rewards, self.dones)

    def steps(self, count: int) -> None:
        for _ in range(count):
            self.step()


class TrainingFrequency:
    """Eight decision steps (act + record) of 1 000 agents with DDQN (shared MLP, 13x11x11 view,
    batch 64) training every 1, 2, 4 or 8 steps: eight consecutive steps hold exactly 8 / k
    training steps. Measured after 16 warm-up steps (the 10 000-transition buffer is full)."""

    version = 1
    params = [TRAIN_EVERY]
    param_names = ["train_every"]
    number = 1
    repeat = (5, 6, 0.5)  # (5, 10, 0.5) until issue 13's second cut
    rounds = 1
    timeout = 300

    def setup(self, train_every):
        if train_every not in _LOOPS:
            loop = _DecisionLoop(_loop_policy("ddqn", train_every=train_every, batch_size=64, learning_starts=256))
            loop.steps(16)
            _LOOPS[train_every] = loop
        self.loop = _LOOPS[train_every]

    def time_eight_decision_steps(self, train_every):
        self.loop.steps(8)


PEAK_CASES = ["floor", "ddqn_act", "ppo_act", "ddqn_learn", "ppo_rollout"]


class DecisionPeakMemory:
    """Peak RSS of the decision stage for 1 000 agents (13x11x11 view, shared MLP), beside its
    floor (torch imported, inputs built, no policy):

    * ``ddqn_act`` / ``ppo_act``: build the policy, one batched ``act``;
    * ``ddqn_learn``: 12 act + record steps of DDQN (training every 2 steps; the 10 000-transition
      buffer fills);
    * ``ppo_rollout``: ``rollout_steps + 1`` act + record steps of PPO, so one whole rollout is held
      and one update (4 epochs of 4 minibatches) runs.
    """

    version = 1
    params = [PEAK_CASES]
    param_names = ["case"]
    rounds = 1
    timeout = 300

    def setup(self, case):
        _require_api()
        # Built here (peak RSS counts the whole process anyway) so a missing API skips.
        self.loop = None if case == "floor" else _DecisionLoop(_loop_policy(case.split("_")[0]))
        if case == "floor":
            self.inputs = decision_batch(LOOP_AGENTS, LOOP_OBS_SHAPE, seed=21)

    def peakmem_decision(self, case):
        loop = self.loop
        if loop is None:
            return
        if case.endswith("_act"):
            loop.policy.act(loop.observations, loop.mask)
        elif case == "ddqn_learn":
            loop.steps(12)
        else:
            loop.steps(PPOConfig().rollout_steps + 1)
