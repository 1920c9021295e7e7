"""The networks of the learning policies, and action masking.

Both networks map a batch of observations ``[B, C, H, W] float32`` to ``[B, num_outputs]``:
Q-values for DDQN, action logits plus one state value for PPO.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from farm.decision.config import NetworkConfig, NetworkKind

__all__ = ["forward_in_chunks", "MLP", "CNN", "build_network", "mask_invalid"]


def _dense_stack(in_features: int, hidden_sizes: tuple[int, ...], num_outputs: int) -> list[nn.Module]:
    layers: list[nn.Module] = []
    width = in_features
    for hidden in hidden_sizes:
        layers += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    layers.append(nn.Linear(width, num_outputs))
    return layers


class MLP(nn.Module):
    """Fully connected network over the flattened observation.

    ``forward(x [B, C, H, W]) -> [B, num_outputs]``.
    """

    def __init__(self, obs_shape: tuple[int, int, int], num_outputs: int, hidden_sizes: tuple[int, ...]) -> None:
        super().__init__()
        self.layers = nn.Sequential(nn.Flatten(), *_dense_stack(math.prod(obs_shape), hidden_sizes, num_outputs))
        self._linears = [layer for layer in self.layers if isinstance(layer, nn.Linear)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x [B, C, H, W] -> [B, num_outputs]``.

        The same operations as ``self.layers(x)`` (flatten, then linear and ReLU in turn), called
        directly: a small batch otherwise spends more time in the submodules' call machinery
        than in the arithmetic.
        """
        x = x.flatten(1)  # [B, C*H*W]
        last = len(self._linears) - 1
        for i, linear in enumerate(self._linears):
            x = F.linear(x, linear.weight, linear.bias)
            if i < last:
                x = torch.relu(x)
        return x


class CNN(nn.Module):
    """Two 3x3 convolutions (the second with stride 2), then a fully connected head.

    ``forward(x [B, C, H, W]) -> [B, num_outputs]``.
    """

    def __init__(
        self,
        obs_shape: tuple[int, int, int],
        num_outputs: int,
        hidden_sizes: tuple[int, ...],
        channels: tuple[int, ...] = (16, 32),
    ) -> None:
        super().__init__()
        in_channels, height, width = obs_shape
        first, second = channels
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, first, kernel_size=3, padding=1),  # [B, first, H, W]
            nn.ReLU(),
            nn.Conv2d(first, second, kernel_size=3, stride=2, padding=1),  # [B, second, ceil(H/2), ceil(W/2)]
            nn.ReLU(),
            nn.Flatten(),
        )
        flat = second * ((height + 1) // 2) * ((width + 1) // 2)
        self.head = nn.Sequential(*_dense_stack(flat, hidden_sizes, num_outputs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x [B, C, H, W] -> [B, num_outputs]``."""
        return self.head(self.features(x))


# Rows per forward pass at inference. It bounds the size of each activation buffer (a CNN's first
# layer: 256 x 16 x 11 x 11 floats, 2 MB) whatever the population, so the buffers stay below the
# allocator's mmap threshold and are reused from call to call (see farm.utils.allocator).
# Measured with the thresholds raised, one torch thread, one pass vs chunks of 256: CNN 44 vs
# 22 ms at 5 000 observations, 4.9 vs 4.4 ms at 1 000; the MLP pays about 10 % for the chunks
# (3.9 vs 4.2 ms at 5 000, 0.72 vs 0.80 ms at 1 000).
INFERENCE_CHUNK = 256


def forward_in_chunks(network: nn.Module, x: torch.Tensor, chunk: int = INFERENCE_CHUNK) -> torch.Tensor:
    """``network(x)`` computed ``chunk`` rows at a time: ``x [B, ...] -> [B, num_outputs]``.

    Call it under ``torch.inference_mode``.
    """
    if x.shape[0] <= chunk:
        return network(x)
    return torch.cat([network(x[start : start + chunk]) for start in range(0, x.shape[0], chunk)])


def build_network(config: NetworkConfig, obs_shape: tuple[int, int, int], num_outputs: int) -> nn.Module:
    """The network ``config.kind`` names.

    Weights come from torch's global generator: callers seed it (``torch.random.fork_rng`` +
    ``torch.manual_seed``) for reproducible inits.
    """
    if len(obs_shape) != 3:
        raise ValueError(f"obs_shape must be (C, H, W), got {obs_shape!r}")
    if config.kind is NetworkKind.MLP:
        return MLP(obs_shape, num_outputs, config.hidden_sizes)
    return CNN(obs_shape, num_outputs, config.hidden_sizes, config.cnn_channels)


def mask_invalid(values: torch.Tensor, action_mask: torch.Tensor) -> torch.Tensor:
    """``values [B, A]`` with ``-inf`` wherever ``action_mask [B, A] bool`` is False.

    Neither argmax nor softmax can then pick an invalid action.
    """
    return values.masked_fill(~action_mask, float("-inf"))
