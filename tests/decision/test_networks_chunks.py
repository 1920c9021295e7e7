"""Chunked inference equals one forward pass."""

import pytest

torch = pytest.importorskip("torch")

from farm.decision.config import NetworkConfig, NetworkKind  # noqa: E402
from farm.decision.networks import build_network, forward_in_chunks  # noqa: E402


@pytest.mark.parametrize("kind", list(NetworkKind))
def test_forward_in_chunks_matches_one_pass(kind):
    torch.manual_seed(0)
    net = build_network(NetworkConfig(kind=kind), (4, 11, 11), 7)
    x = torch.rand(601, 4, 11, 11)
    with torch.inference_mode():
        whole = net(x)
        chunked = forward_in_chunks(net, x, chunk=128)
    assert chunked.shape == (601, 7)
    torch.testing.assert_close(chunked, whole, rtol=1e-5, atol=1e-5)
