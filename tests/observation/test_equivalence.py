"""The batched builder equals the per-agent reference for every channel, radius, interpolation
and source, including agents at the world's corners and stacked agents / overlapping nodes."""

import numpy as np
import pytest
from observation_fixtures import make_builder, make_step_log, random_world

from farm.core.actions import Action
from farm.observation import ALL_CHANNELS

WIDTH, HEIGHT = 40.0, 30.0


def _with_history(builder, state, steps=3, seed=7):
    """Feed a few steps of random actions and attacks so every persistent channel is non-zero."""
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        actions = rng.integers(0, len(Action), len(state))
        actions[:6] = [Action.MOVE, Action.SHARE, Action.DEFEND, Action.MOVE, Action.SHARE, Action.DEFEND]
        attacks = [(int(state.ids[0]), int(state.ids[k]), float(rng.uniform(5, 40))) for k in (3, 5, 9)]
        builder.end_step(make_step_log(state, actions, attacks=attacks))
        state.positions[:] = np.clip(state.positions + rng.normal(0, 1.0, state.positions.shape), 0, [WIDTH, HEIGHT])


def _reference(builder, state, ids=None):
    ids = state.ids if ids is None else ids
    return np.stack([builder.build_one(int(i)) for i in ids])


@pytest.mark.parametrize("radius", [5, 10, 20])
def test_all_channels_match_reference(radius):
    state, resources = random_world(36, 40, WIDTH, HEIGHT, seed=radius)
    with make_builder(state, resources, WIDTH, HEIGHT, radius=radius, channels=ALL_CHANNELS) as builder:
        _with_history(builder, state)
        batched = builder.build()
        reference = _reference(builder, state)
        assert batched.shape == (len(state),) + builder.shape == (len(state), 13, 2 * radius + 1, 2 * radius + 1)
        assert batched.dtype == np.float32
        for c, name in enumerate(builder.channel_names):
            assert np.abs(reference[:, c]).sum() > 0, f"{name} is empty: the comparison would be vacuous"
            np.testing.assert_allclose(batched[:, c], reference[:, c], atol=1e-5, err_msg=name)


@pytest.mark.parametrize("source", ["spatial", "grid", "memmap"])
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
@pytest.mark.parametrize("radius", [5, 10, 20])
def test_resources_match_reference(radius, interpolation, source):
    state, resources = random_world(50, 120, WIDTH, HEIGHT, seed=100 + radius)
    with make_builder(
        state, resources, WIDTH, HEIGHT, radius=radius, channels=("RESOURCES", "SELF_HP"),
        interpolation=interpolation, resource_source=source,
    ) as builder:
        for _ in range(2):  # a second build after a change exercises the refresh paths
            batched = builder.build()
            reference = _reference(builder, state)
            np.testing.assert_allclose(batched, reference, atol=1e-5)
            resources.amounts[::3] *= 0.5
            state.positions[::2] = state.positions[::-2][: len(state.positions[::2])]


def test_subset_of_agents_in_requested_order():
    state, resources = random_world(30, 40, WIDTH, HEIGHT, seed=3)
    with make_builder(state, resources, WIDTH, HEIGHT, channels=ALL_CHANNELS) as builder:
        ids = state.ids[[7, 2, 0, 29]]
        np.testing.assert_allclose(builder.build(ids), _reference(builder, state, ids), atol=1e-5)
        np.testing.assert_allclose(builder.build(ids), builder.build()[[7, 2, 0, 29]])


def test_corner_agent_sees_padding_and_self_at_centre():
    state, resources = random_world(10, 20, WIDTH, HEIGHT, seed=4)  # rows 0-3 sit on the corners
    with make_builder(state, resources, WIDTH, HEIGHT, radius=5, channels=("SELF_HP", "OBSTACLES", "VISIBILITY")) as b:
        out = b.build()
        # Agent 0 at (0, 0): rows/cols left of and below its cell are outside the world.
        assert out[0, 1, :5, :].min() == 1.0 and out[0, 1, :, :5].min() == 1.0
        assert out[0, 1, 5:, 5:].max() == 0.0 and out[0, 2, :5, :].max() == 0.0
        # Agent 3 at (width, height) sits in the last cell: rows/cols past the centre are outside.
        assert out[3, 1, 6:, :].min() == 1.0 and out[3, 1, :, 6:].min() == 1.0
        assert out[0, 0, 5, 5] == np.float32(state.health[0] / 100.0)
        assert np.count_nonzero(out[:, 0]) == len(state)


def test_stacked_agents_sum_and_exclude_self():
    from observation_fixtures import make_resources, make_state

    # Three system agents (allies of each other) and one independent on one cell.
    state = make_state([[5.5, 5.5]] * 4, types=[0, 0, 0, 1], health=[10.0, 20.0, 30.0, 40.0])
    with make_builder(state, make_resources(np.zeros((0, 2))), 20.0, 20.0, radius=2,
                      channels=("ALLIES_HP", "ENEMIES_HP")) as b:
        out = b.build()
        assert np.allclose(out[:, 0, 2, 2], [0.5, 0.4, 0.3, 0.0])  # allies: the other two system agents
        assert np.allclose(out[:, 1, 2, 2], [0.4, 0.4, 0.4, 0.6])  # enemies: independent sees all others
        assert out[:, :, [0, 1, 3, 4]].max() == 0.0


@pytest.mark.parametrize("source", ["grid", "memmap"])
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_resource_grid_follows_nodes_that_move(interpolation, source):
    """The grid keeps the nodes' cells between builds: moving nodes (in place, or a new array
    of the same shape) must re-place them, like the reference that reads the positions anew."""
    state, resources = random_world(30, 60, WIDTH, HEIGHT, seed=5)
    rng = np.random.default_rng(6)
    with make_builder(
        state, resources, WIDTH, HEIGHT, radius=5, channels=("RESOURCES",),
        interpolation=interpolation, resource_source=source,
    ) as builder:
        builder.build()
        resources.positions[::4] = rng.random((len(resources.positions[::4]), 2)) * [WIDTH, HEIGHT]
        np.testing.assert_allclose(builder.build(), _reference(builder, state), atol=1e-5)
        resources.positions = np.ascontiguousarray(resources.positions[::-1])
        np.testing.assert_allclose(builder.build(), _reference(builder, state), atol=1e-5)
