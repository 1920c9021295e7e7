"""A ring of observations ("frames") that transitions refer to by id. No torch here.

An agent's observation at one step is the *next* observation of its transition of the step
before and the observation of its transition of this step. Storing transitions with both
observations copies every observation twice (and a third time while it waits for its next
one). A :class:`FrameStore` stores each observation once, under an increasing integer id; a
transition holds two ids.

Frame ``i`` lives in slot ``i % capacity``, so a write overwrites the frame ``capacity`` ids
older. The caller says which id is the oldest it still needs (``oldest_live``); when a write
would overwrite it, the store grows first. It never drops a frame a caller still needs.

A write of at least :data:`BACKGROUND_COPY_BYTES` is copied on a worker thread (numpy releases
the GIL while it copies), so that the caller goes on with its step while the frames land on the
other core. The ids are handed out at once; every read or move of the slots (:meth:`~FrameStore.read`,
:meth:`~FrameStore.reserve`, :attr:`~FrameStore.frames`, the next :meth:`~FrameStore.put`) first
waits for the store's copy, and :func:`wait_for_copies` waits for every store's.
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

__all__ = ["BACKGROUND_COPY_BYTES", "FrameStore", "wait_for_copies"]

# Writes of at least this many bytes are copied on the worker thread; smaller ones inline, where
# handing them over would cost more than the copy (the preset at 1 000 agents writes about 2 MB
# per learner and step, at 100 agents about 0.2 MB).
BACKGROUND_COPY_BYTES = 1 << 20

_executor: ThreadPoolExecutor | None = None
_executor_pid = -1  # a forked child has no worker thread: it starts its own
_last_copy: Future | None = None  # the worker runs copies in order: this one done, all are


def _copier() -> ThreadPoolExecutor:
    global _executor, _executor_pid
    if _executor is None or _executor_pid != os.getpid():
        _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="farm-frame-copy")
        _executor_pid = os.getpid()
    return _executor


def wait_for_copies() -> None:
    """Wait until every frame copy handed to the worker thread so far is in place."""
    global _last_copy
    if _last_copy is not None:
        last, _last_copy = _last_copy, None
        if _executor_pid == os.getpid():
            last.result()


def _copy_into(frames: np.ndarray, slot: int, observations: np.ndarray) -> None:
    """``observations (k, ...)`` into ``frames`` from ``slot`` on, wrapping past the end."""
    first = min(observations.shape[0], frames.shape[0] - slot)
    frames[slot : slot + first] = observations[:first]
    if first < observations.shape[0]:
        frames[: observations.shape[0] - first] = observations[first:]


class FrameStore:
    """Observations ``(C, H, W) float32`` stored once each, addressed by id.

    Storage is allocated on the first :meth:`reserve` (at least its ``capacity_hint`` rows) and
    grows when a write would overwrite a frame still needed. Growing allocates the new array and
    copies the frames still needed, once.

    Attributes:
        written: the id the next written frame gets (ids ``0 .. written - 1`` were written).
        grows: how many times the storage was reallocated (0 after the first allocation).
    """

    def __init__(self, obs_shape: tuple[int, ...]) -> None:
        self.obs_shape = tuple(int(d) for d in obs_shape)
        self._frames = np.zeros((0,) + self.obs_shape, dtype=np.float32)
        self._pending: Future | None = None  # this store's copy on the worker thread
        self._pending_pid = -1  # the process whose worker makes it
        self.written = 0
        self.grows = -1

    @property
    def frames(self) -> np.ndarray:
        """``(capacity, C, H, W) float32``: the slots, every write in place.

        Frame ``i`` is ``frames[i % capacity]``.
        """
        self.settle()
        return self._frames

    @property
    def capacity(self) -> int:
        """Slots allocated."""
        return int(self._frames.shape[0])

    @property
    def nbytes(self) -> int:
        """Bytes held by the frame storage."""
        return int(self._frames.nbytes)

    def settle(self) -> None:
        """Wait until this store's write on the worker thread (if any) is in place."""
        if self._pending is not None:
            if self._pending_pid != os.getpid():
                raise RuntimeError("this process was forked while a frame copy was in flight: "
                                   "its frames are incomplete")
            pending, self._pending = self._pending, None
            pending.result()

    def reserve(self, count: int, oldest_live: int, capacity_hint: int) -> None:
        """Make room for ``count`` more frames without overwriting any id ``>= oldest_live``.

        Args:
            count: frames about to be written.
            oldest_live: the oldest id the caller still reads (``written`` when none).
            capacity_hint: slots to allocate at least, if the store has to (re)allocate.
        """
        oldest_live = min(int(oldest_live), self.written)
        needed = self.written + count - oldest_live  # ids oldest_live .. written + count - 1
        if needed <= self.capacity:
            return
        # Headroom of an eighth, so that a slowly growing need does not reallocate every call.
        capacity = max(int(capacity_hint), needed + needed // 8)
        frames = np.zeros((capacity,) + self.obs_shape, dtype=np.float32)
        self.settle()  # the live frames, every write in place, move to the new slots
        if self.capacity and self.written > oldest_live:
            live = np.arange(oldest_live, self.written)
            frames[live % capacity] = self._frames[live % self.capacity]
        self._frames = frames
        self.grows += 1

    def put(self, observations: np.ndarray, background: bool = True) -> np.ndarray:
        """Write ``observations (k, C, H, W)`` (after :meth:`reserve` of ``k``).

        With ``background``, a write of at least :data:`BACKGROUND_COPY_BYTES` is copied on the
        worker thread: the caller must not change ``observations`` until the store is next read
        or moved, or :meth:`settle` or :func:`wait_for_copies` returns. A caller about to read the
        frames passes False.

        Returns:
            The ids of the written frames, ``(k,) int64``.
        """
        global _last_copy
        k = int(observations.shape[0])
        start = self.written
        if k > self.capacity:
            raise ValueError(f"cannot write {k} frames into {self.capacity} slots; reserve them first")
        if observations.shape[1:] != self.obs_shape:
            raise ValueError(f"frames of shape {self.obs_shape} cannot hold observations {observations.shape[1:]}")
        self.settle()
        slot = start % self.capacity if self.capacity else 0
        if background and observations.nbytes >= BACKGROUND_COPY_BYTES:
            self._pending = _last_copy = _copier().submit(_copy_into, self._frames, slot, observations)
            self._pending_pid = os.getpid()
        elif k:
            _copy_into(self._frames, slot, observations)
        self.written = start + k
        return np.arange(start, start + k, dtype=np.int64)

    def read(self, ids: np.ndarray) -> np.ndarray:
        """The frames of ``ids (b,)``: a fresh ``(b, C, H, W) float32`` array."""
        return self.frames[np.asarray(ids, dtype=np.int64) % self.capacity]
