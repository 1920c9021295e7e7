"""farm.decision.adam.Adam against torch.optim.Adam, the truth it must reproduce bit for bit."""

import copy

import pytest
import torch

from farm.decision.adam import Adam


def _network(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(12, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))


def _train(network, optimizer, steps: int, seed: int) -> list[float]:
    generator = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(steps):
        x = torch.randn(32, 12, generator=generator)
        loss = network(x).pow(2).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(network.parameters()), 1.0)
        optimizer.step()
        losses.append(float(loss.detach()))
    return losses


def _same_parameters(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


@pytest.mark.parametrize("foreach, eps, lr", [(True, 1e-8, 1e-3), (None, 1e-5, 3e-4), (False, 1e-8, 1e-2)])
def test_updates_are_bit_identical_to_torch_adam(foreach, eps, lr):
    ours_net, torch_net = _network(0), _network(0)
    ours = Adam(list(ours_net.parameters()), lr=lr, eps=eps, foreach=foreach)
    reference = torch.optim.Adam(torch_net.parameters(), lr=lr, eps=eps, foreach=foreach)
    assert _train(ours_net, ours, 25, seed=1) == _train(torch_net, reference, 25, seed=1)
    assert _same_parameters(ours_net, torch_net)
    # and the parameters did move
    assert not _same_parameters(ours_net, _network(0))


def test_a_parameter_without_gradient_is_left_alone_and_gets_no_state():
    network = _network(0)
    frozen = network[2].bias
    frozen.requires_grad_(False)
    before = frozen.clone()
    optimizer = Adam(list(network.parameters()), foreach=True)
    _train(network, optimizer, 3, seed=2)
    assert torch.equal(frozen, before)
    assert sorted(optimizer.state) == [0, 1, 2]


@pytest.mark.parametrize("direction", ["torch_to_ours", "ours_to_torch"])
def test_checkpoints_move_between_torch_adam_and_ours(direction):
    first_net, second_net = _network(3), _network(3)
    make_torch = lambda net: torch.optim.Adam(net.parameters(), lr=1e-3, foreach=True)  # noqa: E731
    make_ours = lambda net: Adam(list(net.parameters()), lr=1e-3, foreach=True)  # noqa: E731
    make_first, make_second = (make_torch, make_ours) if direction == "torch_to_ours" else (make_ours, make_torch)
    first, second = make_first(first_net), make_second(second_net)
    _train(first_net, first, 5, seed=4)
    second_net.load_state_dict(first_net.state_dict())
    second.load_state_dict(copy.deepcopy(first.state_dict()))  # as through a checkpoint file
    assert _train(first_net, first, 5, seed=5) == _train(second_net, second, 5, seed=5)
    assert _same_parameters(first_net, second_net)


def test_a_state_dict_of_other_parameters_is_refused_naming_the_counts():
    optimizer = Adam(list(_network(0).parameters()))
    other = torch.optim.Adam(torch.nn.Linear(2, 2).parameters())
    with pytest.raises(ValueError, match=r"\[2\].*expected one group of 4"):
        optimizer.load_state_dict(other.state_dict())


@pytest.mark.parametrize(
    "kwargs, bad", [({"lr": -1.0}, "-1.0"), ({"eps": -1e-8}, "-1e-08"), ({"betas": (0.9, 1.0)}, "1.0")]
)
def test_bad_settings_name_the_value(kwargs, bad):
    with pytest.raises(ValueError, match=bad):
        Adam(list(_network(0).parameters()), **kwargs)
