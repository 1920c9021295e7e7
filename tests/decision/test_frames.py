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


def _big(start, k, shape=(4, 16, 16)):
    """``k`` frames of ``shape`` whose values are their ids: 4 KiB each."""
    return np.broadcast_to(np.arange(start, start + k, dtype=np.float32)[:, None, None, None], (k,) + shape).copy()


def test_large_writes_are_copied_on_the_worker_thread_and_read_back_in_place(monkeypatch):
    from farm.decision import frames

    monkeypatch.setattr(frames, "BACKGROUND_COPY_BYTES", 64 * 4096)  # 64 frames and more
    store = FrameStore((4, 16, 16))
    store.reserve(100, store.written, capacity_hint=150)
    np.testing.assert_array_equal(store.put(_big(0, 100)), np.arange(100))
    assert store._pending is not None  # handed to the worker, not copied here
    np.testing.assert_array_equal(store.read(np.array([99, 0, 42]))[:, 0, 0, 0], [99, 0, 42])
    assert store._pending is None
    store.put(_big(100, 10))  # small: copied inline
    assert store._pending is None
    store.reserve(100, 60, capacity_hint=150)  # ids 60..209 fit the 150 slots
    store.put(_big(110, 100))  # on the worker
    assert store._pending is not None
    store.reserve(100, 60, capacity_hint=150)  # ids 60..309 do not: grows while 110..209 are in flight
    assert store.grows == 1 and store._pending is None
    store.put(_big(210, 100))
    frames.wait_for_copies()
    np.testing.assert_array_equal(store.read(np.arange(60, 310))[:, 3, 15, 15], np.arange(60, 310))
    np.testing.assert_array_equal(store.frames[np.arange(60, 310) % store.capacity][:, 0, 0, 0], np.arange(60, 310))


def test_a_wrapping_write_on_the_worker_thread_lands_in_both_pieces(monkeypatch):
    from farm.decision import frames

    monkeypatch.setattr(frames, "BACKGROUND_COPY_BYTES", 0)
    store = FrameStore((4, 16, 16))
    store.reserve(7, store.written, capacity_hint=10)
    store.put(_big(0, 7))
    store.reserve(6, 7, capacity_hint=10)
    store.put(_big(7, 6))  # slots 7, 8, 9 then 0, 1, 2
    assert store.grows == 0
    np.testing.assert_array_equal(store.frames[:, 0, 0, 0], [10, 11, 12, 3, 4, 5, 6, 7, 8, 9])


def test_observations_of_another_shape_are_refused_before_any_copy():
    store = FrameStore((4, 16, 16))
    store.reserve(2, 0, capacity_hint=4)
    with pytest.raises(ValueError, match=r"\(4, 16, 16\).*\(4, 16, 15\)"):
        store.put(np.zeros((2, 4, 16, 15), dtype=np.float32))
    assert store.written == 0


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_a_forked_child_copies_on_a_worker_of_its_own(monkeypatch):
    """The parent's worker thread does not exist in a forked child: the child starts its own
    instead of waiting forever on the parent's."""
    import os

    from farm.decision import frames

    monkeypatch.setattr(frames, "BACKGROUND_COPY_BYTES", 0)
    parent = FrameStore((4, 16, 16))
    parent.reserve(4, 0, capacity_hint=8)
    parent.put(_big(0, 4))
    frames.wait_for_copies()
    pid = os.fork()
    if pid == 0:  # the child: exit code 0 only if a fresh store's copy lands
        code = 1
        try:
            child = FrameStore((4, 16, 16))
            child.reserve(3, 0, capacity_hint=8)
            child.put(_big(7, 3))
            frames.wait_for_copies()
            code = 0 if child.read(np.arange(3))[:, 0, 0, 0].tolist() == [7, 8, 9] else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    np.testing.assert_array_equal(parent.read(np.arange(4))[:, 0, 0, 0], np.arange(4))
