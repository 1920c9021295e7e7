import numpy as np
import pytest

from farm.decision import transitions
from farm.decision.transitions import TransitionPairer, match_ids


def test_match_ids_against_a_dict():
    rng = np.random.default_rng(1)
    agent_ids = rng.permutation(50)[:30].astype(np.int64)
    wanted = rng.integers(0, 60, size=40).astype(np.int64)
    found, rows = match_ids(wanted, agent_ids)
    where = {int(a): i for i, a in enumerate(agent_ids)}
    np.testing.assert_array_equal(found, [int(w) in where for w in wanted])
    np.testing.assert_array_equal(rows, [where[int(w)] for w in wanted if int(w) in where])


@pytest.mark.parametrize("engine_order", [False, True], ids=["shuffled rows", "engine order"])
def test_pairs_by_id_through_births_and_deaths_like_a_dict_of_last_rows(engine_order, monkeypatch):
    """Brute force: a dict agent id -> last (frame, action, reward), walked row by row. The
    order is part of the contract (the replay buffer's slots, hence sampling, follow it):
    pending transitions in the order they were left pending, then this step's terminal ones.

    In engine order (the survivors in their order, then the newborns) the pending agents are the
    first rows unless one vanished without a done; both ways of matching are walked."""
    searches = []
    monkeypatch.setattr(transitions, "match_ids", lambda *a: searches.append(1) or match_ids(*a))
    rng = np.random.default_rng(7)
    pairer = TransitionPairer()
    written = 0
    pending: dict[int, tuple] = {}
    ids = np.arange(6, dtype=np.int64)
    next_id = 6
    for _ in range(25):
        n = ids.size
        step_ids = ids if engine_order else ids[rng.permutation(n)]  # rows need not be sorted
        frames = written + np.arange(n, dtype=np.int64)  # where this step's observations are stored
        written += n
        mask = rng.random((n, 7)) < 0.6
        actions = rng.integers(0, 7, size=n)
        rewards = rng.random(n)
        dones = rng.random(n) < 0.2
        got = pairer.pair(step_ids, frames, mask, actions, rewards, dones)

        row_of = {agent_id: row for row, agent_id in enumerate(step_ids.tolist())}
        expected = [(frame, action, reward, frames[row_of[a]], False, mask[row_of[a]])
                    for a, (frame, action, reward) in pending.items() if a in row_of]
        expected += [(frames[r], actions[r], rewards[r], frames[r], True, mask[r]) for r in np.flatnonzero(dones)]
        pending = {a: (frames[r], actions[r], rewards[r]) for r, a in enumerate(step_ids.tolist()) if not dones[r]}

        assert got.actions.shape[0] == len(expected)
        assert got.frames.dtype == got.next_frames.dtype == got.actions.dtype == np.int64
        assert got.rewards.dtype == np.float32 and got.dones.dtype == np.bool_
        for i, e in enumerate(expected):
            assert (got.frames[i], got.actions[i], got.next_frames[i], got.dones[i]) == (e[0], e[1], e[3], e[4])
            assert got.rewards[i] == np.float32(e[2])
            np.testing.assert_array_equal(got.next_action_masks[i], e[5])
        survivors = step_ids[~dones]
        if rng.random() < 0.5:
            survivors = survivors[rng.random(survivors.size) > 0.1]  # some vanish without a done
        born = rng.integers(0, 3)
        ids = np.concatenate([survivors, np.arange(next_id, next_id + born)])
        next_id += born
        actions[:] = -1  # the caller may reuse its arrays: pending values must be copies
        rewards[:] = -1.0
    if engine_order:  # the rows were searched only for the steps after an agent vanished
        assert 0 < len(searches) < 25


def test_match_ids_on_sorted_ids_takes_the_fast_path_with_the_same_answer():
    agent_ids = np.array([2, 5, 9, 11, 40], dtype=np.int64)
    wanted = np.array([40, 3, 2, 11, 41, 9], dtype=np.int64)
    found, rows = match_ids(wanted, agent_ids)
    np.testing.assert_array_equal(found, [True, False, True, True, False, True])
    np.testing.assert_array_equal(rows, [4, 0, 3, 2])
    found_shuffled, rows_shuffled = match_ids(wanted, agent_ids[::-1].copy())
    np.testing.assert_array_equal(found_shuffled, found)
    np.testing.assert_array_equal(rows_shuffled, 4 - rows)
