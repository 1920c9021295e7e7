import numpy as np
import pytest
import torch

from farm.decision.config import NetworkConfig
from farm.decision.networks import CNN, MLP, build_network, mask_invalid


@pytest.mark.parametrize("kind, cls", [("mlp", MLP), ("cnn", CNN)])
@pytest.mark.parametrize("obs_shape", [(4, 11, 11), (3, 5, 5), (1, 1, 6)])
def test_output_shape_and_dtype(kind, cls, obs_shape):
    network = build_network(NetworkConfig(kind=kind, hidden_sizes=(16,)), obs_shape, 8)
    assert isinstance(network, cls)
    out = network(torch.zeros((5,) + obs_shape))
    assert out.shape == (5, 8) and out.dtype == torch.float32


def test_rejects_a_flat_shape():
    with pytest.raises(ValueError, match="obs_shape"):
        build_network(NetworkConfig(), (10,), 3)


def test_mask_invalid_sets_minus_inf_and_argmax_stays_valid():
    rng = np.random.default_rng(3)
    values = torch.from_numpy(rng.normal(size=(200, 7)).astype(np.float32))
    mask = rng.random((200, 7)) < 0.4
    mask[np.arange(200), rng.integers(0, 7, 200)] = True
    masked = mask_invalid(values, torch.from_numpy(mask))
    assert torch.isneginf(masked[torch.from_numpy(~mask)]).all()
    assert torch.equal(masked[torch.from_numpy(mask)], values[torch.from_numpy(mask)])
    chosen = masked.argmax(1).numpy()
    assert mask[np.arange(200), chosen].all()
    probabilities = torch.softmax(masked, 1)
    assert (probabilities[torch.from_numpy(~mask)] == 0).all()
