"""The frame store: observations stored once, addressed by id, never lost while needed."""

import numpy as np
import pytest

from farm.decision.frames import FrameStore


def _frames(start, k):
    return np.broadcast_to(np.arange(start, start + k, dtype=np.float32)[:, None, None, None], (k, 1, 2, 2))


def test_ids_count_up_and_slots_wrap():
    store = FrameStore((1, 2, 2))
    store.reserve(3, store.written, capacity_hint=5)
    np.testing.assert_array_equal(store.put(_frames(0, 3)), [0, 1, 2])
    store.reserve(4, 3, capacity_hint=5)  # frames 0..2 no longer needed: no growth
    np.testing.assert_array_equal(store.put(_frames(3, 4)), [3, 4, 5, 6])
    assert store.capacity == 5 and store.grows == 0
    np.testing.assert_array_equal(store.frames[:, 0, 0, 0], [5, 6, 2, 3, 4])
    np.testing.assert_array_equal(store.read(np.array([6, 3, 5]))[:, 0, 1, 1], [6, 3, 5])


def test_growing_keeps_every_needed_frame_in_place_of_its_id():
    store = FrameStore((1, 2, 2))
    store.reserve(4, 0, capacity_hint=4)
    store.put(_frames(0, 4))
    store.reserve(3, 1, capacity_hint=4)  # ids 1..6 must coexist: 6 > 4 slots
    assert store.capacity >= 6 and store.grows == 1
    store.put(_frames(4, 3))
    np.testing.assert_array_equal(store.read(np.arange(1, 7))[:, 0, 0, 0], np.arange(1, 7))


def test_writing_past_the_slots_without_reserving_raises():
    store = FrameStore((1, 2, 2))
    store.reserve(2, 0, capacity_hint=2)
    with pytest.raises(ValueError, match="reserve"):
        store.put(_frames(0, 3))
