"""A ring of observations ("frames") that transitions refer to by id. No torch here.

An agent's observation at one step is the *next* observation of its transition of the step
before and the observation of its transition of this step. Storing transitions with both
observations copies every observation twice (and a third time while it waits for its next
one). A :class:`FrameStore` stores each observation once, under an increasing integer id; a
transition holds two ids.

Frame ``i`` lives in slot ``i % capacity``, so a write overwrites the frame ``capacity`` ids
older. The caller says which id is the oldest it still needs (``oldest_live``); when a write
would overwrite it, the store grows first. It never drops a frame a caller still needs.
"""

from __future__ import annotations

import numpy as np

__all__ = ["FrameStore"]


class FrameStore:
    """Observations ``(C, H, W) float32`` stored once each, addressed by id.

    Storage is allocated on the first :meth:`reserve` (at least its ``capacity_hint`` rows) and
    grows when a write would overwrite a frame still needed. Growing allocates the new array and
    copies the frames still needed, once.

    Attributes:
        frames: ``(capacity, C, H, W) float32`` the slots; frame ``i`` is ``frames[i % capacity]``.
        written: the id the next written frame gets (ids ``0 .. written - 1`` were written).
        grows: how many times the storage was reallocated (0 after the first allocation).
    """

    def __init__(self, obs_shape: tuple[int, ...]) -> None:
        self.obs_shape = tuple(int(d) for d in obs_shape)
        self.frames = np.zeros((0,) + self.obs_shape, dtype=np.float32)
        self.written = 0
        self.grows = -1

    @property
    def capacity(self) -> int:
        """Slots allocated."""
        return int(self.frames.shape[0])

    @property
    def nbytes(self) -> int:
        """Bytes held by the frame storage."""
        return int(self.frames.nbytes)

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
        if self.capacity and self.written > oldest_live:
            live = np.arange(oldest_live, self.written)
            frames[live % capacity] = self.frames[live % self.capacity]
        self.frames = frames
        self.grows += 1

    def put(self, observations: np.ndarray) -> np.ndarray:
        """Write ``observations (k, C, H, W)`` (after :meth:`reserve` of ``k``).

        Returns:
            The ids of the written frames, ``(k,) int64``.
        """
        k = int(observations.shape[0])
        start = self.written
        if k > self.capacity:
            raise ValueError(f"cannot write {k} frames into {self.capacity} slots; reserve them first")
        slot = start % self.capacity if self.capacity else 0
        first = min(k, self.capacity - slot)
        self.frames[slot : slot + first] = observations[:first]
        if first < k:
            self.frames[: k - first] = observations[first:]
        self.written = start + k
        return np.arange(start, start + k, dtype=np.int64)

    def read(self, ids: np.ndarray) -> np.ndarray:
        """The frames of ``ids (b,)``: a fresh ``(b, C, H, W) float32`` array."""
        return self.frames[np.asarray(ids, dtype=np.int64) % self.capacity]
