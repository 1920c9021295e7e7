"""Which policy decides for each agent type, and its settings.

This module never imports torch: the learning algorithms read their settings from here, and
``import farm`` must stay free of torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from farm.utils.validation import (
    coerce_enum,
    require_int_at_least,
    require_non_negative,
    require_positive,
    require_probability,
)

__all__ = [
    "PolicyKind",
    "NetworkKind",
    "SharingMode",
    "TargetUpdate",
    "NetworkConfig",
    "DDQNConfig",
    "PPOConfig",
    "DecisionConfig",
]


class PolicyKind(Enum):
    """Which policy chooses the actions of an agent type."""

    RANDOM = "random"
    RULE = "rule"
    DDQN = "ddqn"
    PPO = "ppo"

    @property
    def learns(self) -> bool:
        """True for the kinds that train a torch network."""
        return self in (PolicyKind.DDQN, PolicyKind.PPO)


class NetworkKind(Enum):
    """The network a learning policy uses over an observation ``(C, H, W)``.

    MLP flattens the view (cheap at any batch size); CNN convolves it (spatially aware, more
    compute per agent).
    """

    MLP = "mlp"
    CNN = "cnn"


class SharingMode(Enum):
    """How a learning policy assigns networks to agents.

    SHARED: one network per agent type, one batched forward for all its live agents.
    PER_AGENT: one network per agent id (AgentFarm's layout), for comparison; much slower.
    """

    SHARED = "shared"
    PER_AGENT = "per_agent"


class TargetUpdate(Enum):
    """How the DDQN target network follows the online network.

    HARD copies the online weights every ``target_update_every`` training steps; SOFT moves
    the target toward them by ``tau`` after every training step (Polyak averaging).
    """

    HARD = "hard"
    SOFT = "soft"


def _require_hidden_sizes(section: str, name: str, value: object) -> tuple[int, ...]:
    if isinstance(value, list):
        value = tuple(value)
    if not isinstance(value, tuple) or not value:
        raise ValueError(f"{section}.{name} must be a non-empty list of layer widths, got {value!r}")
    for width in value:
        require_int_at_least(section, name, width, 1)
    return value


@dataclass(frozen=True)
class NetworkConfig:
    """The network of the learning policies.

    Attributes:
        kind: MLP over the flattened observation, or a small CNN over ``(C, H, W)``.
        hidden_sizes: widths of the fully connected hidden layers (MLP layers; the CNN's head).
        cnn_channels: output channels of the CNN's two 3x3 convolutions.
    """

    kind: NetworkKind = NetworkKind.MLP
    hidden_sizes: tuple[int, ...] = (64, 64)
    cnn_channels: tuple[int, ...] = (16, 32)

    def __post_init__(self) -> None:
        s = "decision.network"
        object.__setattr__(self, "kind", coerce_enum(s, "kind", NetworkKind, self.kind))
        object.__setattr__(self, "hidden_sizes", _require_hidden_sizes(s, "hidden_sizes", self.hidden_sizes))
        channels = _require_hidden_sizes(s, "cnn_channels", self.cnn_channels)
        if len(channels) != 2:
            raise ValueError(f"{s}.cnn_channels must list exactly 2 widths, got {channels!r}")
        object.__setattr__(self, "cnn_channels", channels)


# The networks and their optimiser state are float32: a learning rate must be one.
_FLOAT32_MAX = 3.4028234663852886e38


def _require_float32_learning_rate(section: str, value: float) -> None:
    """Refuse a learning rate above float32's largest value.

    Adam multiplies float32 tensors by it: torch would fail at the first training step
    (``value cannot be converted to type float``).
    """
    if value > _FLOAT32_MAX:
        raise ValueError(f"{section}.learning_rate must be at most {_FLOAT32_MAX:.4g} (float32), got {value!r}")


@dataclass(frozen=True)
class DDQNConfig:
    """Double DQN settings.

    Attributes:
        learning_rate: Adam step size.
        gamma: discount factor of future rewards.
        buffer_size: replay buffer capacity (transitions) in shared mode; allocated up front.
        per_agent_buffer_size: replay capacity of each agent's own buffer in per-agent mode.
        batch_size: transitions sampled per training step.
        learning_starts: no training until the buffer holds this many transitions.
        train_every: one training step every this many ``record`` calls (simulation steps).
        epsilon_start, epsilon_end: exploration probability, decayed linearly...
        epsilon_decay_steps: ...over this many ``record`` calls.
        target_update: HARD or SOFT target network sync.
        target_update_every: training steps between HARD syncs.
        tau: SOFT sync rate, ``target <- tau * online + (1 - tau) * target``.
        max_grad_norm: gradients are clipped to this global L2 norm.
        huber_delta: where the Huber (smooth L1) loss turns from quadratic to linear.
    """

    learning_rate: float = 1e-3
    gamma: float = 0.95
    buffer_size: int = 10_000
    per_agent_buffer_size: int = 1_000
    batch_size: int = 64
    learning_starts: int = 256
    train_every: int = 2
    epsilon_start: float = 1.0
    epsilon_end: float = 0.05
    epsilon_decay_steps: int = 250
    target_update: TargetUpdate = TargetUpdate.SOFT
    target_update_every: int = 100
    tau: float = 0.01
    max_grad_norm: float = 10.0
    huber_delta: float = 1.0

    def __post_init__(self) -> None:
        s = "decision.ddqn"
        object.__setattr__(self, "target_update", coerce_enum(s, "target_update", TargetUpdate, self.target_update))
        for name in ("learning_rate", "max_grad_norm", "huber_delta"):
            require_positive(s, name, getattr(self, name))
        _require_float32_learning_rate(s, self.learning_rate)
        for name in ("gamma", "epsilon_start", "epsilon_end"):
            require_probability(s, name, getattr(self, name))
        require_probability(s, "tau", self.tau)
        if self.tau <= 0:
            raise ValueError(f"{s}.tau must be in (0, 1], got {self.tau!r}")
        for name in ("buffer_size", "per_agent_buffer_size", "batch_size", "train_every", "target_update_every"):
            require_int_at_least(s, name, getattr(self, name), 1)
        require_int_at_least(s, "learning_starts", self.learning_starts, 0)
        require_int_at_least(s, "epsilon_decay_steps", self.epsilon_decay_steps, 1)

    def epsilon_at(self, step: int) -> float:
        """Exploration probability after ``step`` record calls (linear decay, then flat)."""
        fraction = min(1.0, step / self.epsilon_decay_steps)
        return self.epsilon_start + fraction * (self.epsilon_end - self.epsilon_start)


@dataclass(frozen=True)
class PPOConfig:
    """Proximal Policy Optimisation settings.

    Attributes:
        learning_rate: Adam step size.
        gamma: discount factor of future rewards.
        gae_lambda: GAE's bias/variance trade-off (1: Monte Carlo, 0: one-step TD).
        rollout_steps: simulation steps collected (for every live agent) before each update.
        update_epochs: passes over the rollout per update.
        num_minibatches: each epoch splits the rollout's transitions into this many minibatches.
        clip_coef: PPO's ratio clip, ``ratio in [1 - clip_coef, 1 + clip_coef]``.
        value_coef: weight of the value loss.
        entropy_coef: weight of the entropy bonus.
        max_grad_norm: gradients are clipped to this global L2 norm.
        normalize_advantages: standardise advantages within each minibatch.
    """

    learning_rate: float = 3e-4
    gamma: float = 0.95
    gae_lambda: float = 0.95
    rollout_steps: int = 64
    update_epochs: int = 4
    num_minibatches: int = 4
    clip_coef: float = 0.2
    value_coef: float = 0.5
    entropy_coef: float = 0.01
    max_grad_norm: float = 0.5
    normalize_advantages: bool = True

    def __post_init__(self) -> None:
        s = "decision.ppo"
        for name in ("learning_rate", "clip_coef", "max_grad_norm"):
            require_positive(s, name, getattr(self, name))
        _require_float32_learning_rate(s, self.learning_rate)
        for name in ("gamma", "gae_lambda"):
            require_probability(s, name, getattr(self, name))
        for name in ("value_coef", "entropy_coef"):
            require_non_negative(s, name, getattr(self, name))
        for name in ("rollout_steps", "update_epochs", "num_minibatches"):
            require_int_at_least(s, name, getattr(self, name), 1)
        if not isinstance(self.normalize_advantages, bool):
            raise ValueError(f"{s}.normalize_advantages must be true or false, got {self.normalize_advantages!r}")


@dataclass(frozen=True)
class DecisionConfig:
    """How each agent type decides, and the settings of the learning policies.

    Attributes:
        system, independent, control: the policy for each agent type.
        network: the network of the learning policies.
        sharing: SHARED (one network per agent type, the default) or PER_AGENT.
        ddqn, ppo: settings of each learning algorithm.
        torch_threads: ``torch.set_num_threads`` value set when a learning policy is built.
        retain_freed_memory: when a learning policy is built, keep freed heap memory in the
            process (glibc ``mallopt``, see :mod:`farm.utils.allocator`): torch's per-call
            activation buffers are then reused instead of page-faulted back in, which halves a
            batched CNN ``act``.
        checkpoint_dir: where learning policies save checkpoints (None: no automatic saving).
        checkpoint_every: save a checkpoint every this many ``record`` calls (0: never
            automatically; ``save_checkpoint`` still works).
    """

    system: PolicyKind = PolicyKind.RANDOM
    independent: PolicyKind = PolicyKind.RANDOM
    control: PolicyKind = PolicyKind.RANDOM
    network: NetworkConfig = field(default_factory=NetworkConfig)
    sharing: SharingMode = SharingMode.SHARED
    ddqn: DDQNConfig = field(default_factory=DDQNConfig)
    ppo: PPOConfig = field(default_factory=PPOConfig)
    torch_threads: int = 1
    retain_freed_memory: bool = True
    checkpoint_dir: str | None = None
    checkpoint_every: int = 0

    def __post_init__(self) -> None:
        s = "decision"
        for name in ("system", "independent", "control"):
            object.__setattr__(self, name, coerce_enum(s, name, PolicyKind, getattr(self, name)))
        object.__setattr__(self, "sharing", coerce_enum(s, "sharing", SharingMode, self.sharing))
        for name, cls in (("network", NetworkConfig), ("ddqn", DDQNConfig), ("ppo", PPOConfig)):
            if not isinstance(getattr(self, name), cls):
                raise ValueError(f"{s}.{name} must be a {cls.__name__}, got {getattr(self, name)!r}")
        require_int_at_least(s, "torch_threads", self.torch_threads, 1)
        if not isinstance(self.retain_freed_memory, bool):
            raise ValueError(f"{s}.retain_freed_memory must be true or false, got {self.retain_freed_memory!r}")
        require_int_at_least(s, "checkpoint_every", self.checkpoint_every, 0)
        if self.checkpoint_dir is not None and (not isinstance(self.checkpoint_dir, str) or not self.checkpoint_dir):
            raise ValueError(f"{s}.checkpoint_dir must be a non-empty path or None, got {self.checkpoint_dir!r}")

    def policy_for(self, type_name: str) -> PolicyKind:
        """The policy kind of the agent type named ``type_name`` (``"system"``, ...)."""
        return getattr(self, type_name)
