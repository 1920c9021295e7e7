import numpy as np
import pytest

from farm.decision.replay_buffer import ReplayBuffer


def _rows(start: int, k: int, obs_shape=(2, 3, 3)):
    values = np.arange(start, start + k)
    observations = np.broadcast_to(values[:, None, None, None], (k,) + obs_shape).astype(np.float32)
    mask = np.zeros((k, 7), dtype=bool)
    mask[np.arange(k), values % 7] = True
    return observations, values.astype(np.int64), values.astype(np.float32), observations + 0.5, values % 2 == 0, mask


def test_ring_keeps_the_newest_rows_in_order_of_slots():
    buffer = ReplayBuffer(5, (2, 3, 3), 7)
    buffer.add(*_rows(0, 3))
    assert len(buffer) == 3 and buffer.position == 3
    buffer.add(*_rows(3, 4))  # wraps: slots 3, 4, 0, 1 get 3, 4, 5, 6
    assert len(buffer) == 5 and buffer.position == 2
    np.testing.assert_array_equal(buffer.actions, [5, 6, 2, 3, 4])
    np.testing.assert_array_equal(buffer.observations[:, 0, 0, 0], [5, 6, 2, 3, 4])
    np.testing.assert_array_equal(buffer.next_observations[:, 1, 2, 2], [5.5, 6.5, 2.5, 3.5, 4.5])
    np.testing.assert_array_equal(buffer.dones, [False, True, True, False, True])
    np.testing.assert_array_equal(buffer.next_action_masks.argmax(1), np.array([5, 6, 2, 3, 4]) % 7)


def test_adding_more_than_capacity_keeps_the_last_rows():
    buffer = ReplayBuffer(4, (2, 3, 3), 7)
    buffer.add(*_rows(0, 10))
    assert sorted(buffer.actions.tolist()) == [6, 7, 8, 9] and len(buffer) == 4


def test_sample_shapes_dtypes_and_consistency():
    buffer = ReplayBuffer(100, (2, 3, 3), 7)
    buffer.add(*_rows(0, 30))
    batch = buffer.sample(64, np.random.default_rng(0))
    assert batch.observations.shape == (64, 2, 3, 3) and batch.observations.dtype == np.float32
    assert batch.actions.dtype == np.int64 and batch.rewards.dtype == np.float32
    assert batch.dones.dtype == np.bool_ and batch.next_action_masks.shape == (64, 7)
    assert batch.actions.max() < 30  # only filled rows
    np.testing.assert_array_equal(batch.observations[:, 0, 0, 0], batch.actions)
    again = buffer.sample(64, np.random.default_rng(0))
    np.testing.assert_array_equal(batch.actions, again.actions)


def test_memory_is_allocated_up_front():
    buffer = ReplayBuffer(1000, (4, 11, 11), 7)
    assert buffer.nbytes == 1000 * (2 * 4 * 11 * 11 * 4 + 8 + 4 + 1 + 7)
    with pytest.raises(ValueError):
        ReplayBuffer(0, (1, 1, 1), 7)
    with pytest.raises(ValueError):
        ReplayBuffer(3, (1, 1, 1), 7).sample(1, np.random.default_rng(0))
