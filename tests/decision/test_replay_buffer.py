import numpy as np
import pytest

from farm.decision.replay_buffer import ReplayBuffer
from farm.decision.transitions import TransitionPairer


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
    slots = buffer.gather(np.arange(5))
    np.testing.assert_array_equal(slots.observations[:, 0, 0, 0], [5, 6, 2, 3, 4])
    np.testing.assert_array_equal(slots.next_observations[:, 1, 2, 2], [5.5, 6.5, 2.5, 3.5, 4.5])
    np.testing.assert_array_equal(buffer.dones, [False, True, True, False, True])
    np.testing.assert_array_equal(buffer.next_action_masks.argmax(1), np.array([5, 6, 2, 3, 4]) % 7)


def test_adding_more_than_capacity_keeps_the_last_rows():
    buffer = ReplayBuffer(4, (2, 3, 3), 7)
    buffer.add(*_rows(0, 10))
    assert sorted(buffer.actions.tolist()) == [6, 7, 8, 9] and len(buffer) == 4


def test_size_after_is_the_length_the_next_add_leaves():
    buffer = ReplayBuffer(5, (2, 3, 3), 7)
    start = 0
    for k in (0, 2, 2, 3, 7, 1):
        expected = buffer.size_after(k)
        buffer.add(*_rows(start, k))
        start += k
        assert len(buffer) == expected
    assert expected == 5


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


def test_memory_of_whole_transitions_is_two_frames_each():
    buffer = ReplayBuffer(1000, (4, 11, 11), 7)
    per_transition = 8 + 8 + 8 + 4 + 1 + 7  # frame ids, action, reward, done, next mask
    assert buffer.nbytes == 1000 * per_transition  # frames are allocated on the first write
    buffer.add(*_rows(0, 10, (4, 11, 11)))
    assert buffer.nbytes == 1000 * (2 * 4 * 11 * 11 * 4 + per_transition)
    with pytest.raises(ValueError):
        ReplayBuffer(0, (1, 1, 1), 7)
    with pytest.raises(ValueError):
        ReplayBuffer(3, (1, 1, 1), 7).sample(1, np.random.default_rng(0))


def _step_rows(rng, ids, obs_shape):
    n = ids.size
    observations = rng.random((n,) + obs_shape).astype(np.float32)
    mask = rng.random((n, 7)) < 0.5
    return observations, mask, rng.integers(0, 7, n), rng.random(n), rng.random(n) < 0.15


@pytest.mark.parametrize("capacity, max_born", [(7, 6), (40, 6), (500, 6), (300, 40)])
def test_frames_path_holds_the_same_transitions_as_a_brute_force_ring(capacity, max_born):
    """Each step: agents die (done), vanish without done, are born; rows come in any order.
    The reference pairs by id with a dict and keeps the last ``capacity`` whole transitions in
    a list; every slot of the buffer must hold the same transition, bit for bit. A population
    that grows (``max_born`` 40) makes the frame store grow while it holds needed frames."""
    rng = np.random.default_rng(capacity)
    obs_shape = (1, 2, 3)
    buffer, pairer = ReplayBuffer(capacity, obs_shape, 7), TransitionPairer()
    reference: list[tuple] = []  # (obs, action, reward, next_obs, done, next_mask), oldest first
    pending: dict[int, tuple] = {}
    ids, next_id = np.arange(30, dtype=np.int64), 30
    for _ in range(40):
        step_ids = rng.permutation(ids)
        observations, mask, actions, rewards, dones = _step_rows(rng, step_ids, obs_shape)
        seen = observations.copy()  # what the reference keeps
        frames = np.arange(buffer.frames.written, buffer.frames.written + step_ids.size)
        buffer.add_frames(observations, pairer.pair(step_ids, frames, mask, actions, rewards, dones),
                          pairer.pending_frames)
        row_of = {a: r for r, a in enumerate(step_ids.tolist())}
        for agent_id, (obs, action, reward) in pending.items():  # in the order they were left pending
            if agent_id in row_of:
                row = row_of[agent_id]
                reference.append((obs, action, np.float32(reward), seen[row], False, mask[row]))
        for row in np.flatnonzero(dones):
            reference.append((seen[row], actions[row], np.float32(rewards[row]), seen[row], True, mask[row]))
        pending = {a: (seen[r], actions[r], rewards[r])
                   for r, a in enumerate(step_ids.tolist()) if not dones[r]}
        reference = reference[-capacity:]
        observations[:] = -1.0  # the caller may reuse its arrays: stored frames must be copies

        assert len(buffer) == len(reference)
        # Slot order: the ring's oldest slot is `position` once full.
        order = (
            (buffer.position + np.arange(len(buffer))) % capacity if len(buffer) == capacity else np.arange(len(buffer))
        )
        got = buffer.gather(order)
        for i, expected in enumerate(reference):
            np.testing.assert_array_equal(got.observations[i], expected[0])
            assert got.actions[i] == expected[1] and got.rewards[i] == expected[2] and got.dones[i] == expected[4]
            np.testing.assert_array_equal(got.next_observations[i], expected[3])
            np.testing.assert_array_equal(got.next_action_masks[i], expected[5])

        survivors = step_ids[~dones]
        survivors = survivors[rng.random(survivors.size) > 0.05]  # some vanish without a done
        born = int(rng.integers(0, max_born))
        ids = np.concatenate([survivors, np.arange(next_id, next_id + born)])
        next_id += born
    if max_born > 6:
        assert buffer.frames.grows >= 1
    else:  # frames hold about capacity + 4 steps' rows, not two per transition
        assert buffer.frames.grows == 0 and buffer.frames.capacity <= capacity + 4 * 40
