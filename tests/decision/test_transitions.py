import numpy as np

from farm.decision.transitions import TransitionPairer, match_ids


def test_match_ids_against_a_dict():
    rng = np.random.default_rng(1)
    agent_ids = rng.permutation(50)[:30].astype(np.int64)
    wanted = rng.integers(0, 60, size=40).astype(np.int64)
    found, rows = match_ids(wanted, agent_ids)
    where = {int(a): i for i, a in enumerate(agent_ids)}
    np.testing.assert_array_equal(found, [int(w) in where for w in wanted])
    np.testing.assert_array_equal(rows, [where[int(w)] for w in wanted if int(w) in where])


def test_pairs_by_id_through_births_and_deaths_like_a_dict_of_last_rows():
    """Brute force: a dict agent id -> last (obs, action, reward), walked row by row."""
    rng = np.random.default_rng(7)
    obs_shape = (1, 2, 2)
    pairer = TransitionPairer(obs_shape)
    pending: dict[int, tuple] = {}
    ids = np.arange(6, dtype=np.int64)
    next_id = 6
    for _ in range(25):
        n = ids.size
        order = rng.permutation(n)  # rows need not be sorted
        step_ids = ids[order]
        observations = rng.random((n,) + obs_shape).astype(np.float32)
        mask = rng.random((n, 7)) < 0.6
        actions = rng.integers(0, 7, size=n)
        rewards = rng.random(n)
        dones = rng.random(n) < 0.2
        got = pairer.pair(step_ids, observations, mask, actions, rewards, dones)

        expected = []
        for row, agent_id in enumerate(step_ids.tolist()):
            if agent_id in pending:
                obs, action, reward = pending.pop(agent_id)
                expected.append((obs, action, reward, observations[row], False, mask[row]))
        for row in np.flatnonzero(dones):
            expected.append((observations[row], actions[row], rewards[row], observations[row], True, mask[row]))
        pending = {}
        for row, agent_id in enumerate(step_ids.tolist()):
            if not dones[row]:
                pending[agent_id] = (observations[row].copy(), actions[row], rewards[row])

        assert got.actions.shape[0] == len(expected)
        key = lambda t: (t[4], float(t[0].sum()))  # noqa: E731 - order-free comparison
        got_rows = sorted(
            [(got.observations[i], got.actions[i], got.rewards[i], got.next_observations[i], got.dones[i],
              got.next_action_masks[i]) for i in range(len(expected))], key=key)
        for g, e in zip(got_rows, sorted(expected, key=key)):
            np.testing.assert_array_equal(g[0], e[0])
            assert g[1] == e[1] and g[2] == np.float32(e[2]) and g[4] == e[4]
            np.testing.assert_array_equal(g[3], e[3])
            np.testing.assert_array_equal(g[5], e[5])
        survivors = step_ids[~dones]
        born = rng.integers(0, 3)
        ids = np.concatenate([survivors, np.arange(next_id, next_id + born)])
        next_id += born
        observations[:] = -1.0  # the caller may reuse its arrays: pending rows must be copies
