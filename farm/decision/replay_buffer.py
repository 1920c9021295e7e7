"""A numpy ring buffer of transitions for off-policy learning (DDQN). No torch here.

Transitions refer to their observations by frame id (:mod:`farm.decision.frames`): each
observation is stored once, however many transitions read it (an agent's observation is the
next observation of one transition and the observation of the following one).
"""

from __future__ import annotations

import numpy as np

from farm.decision.frames import FrameStore
from farm.decision.transitions import PairedTransitions, TransitionBatch

__all__ = ["ReplayBuffer", "TransitionBatch"]


def _ring_slices(position: int, k: int, capacity: int) -> tuple[slice, ...]:
    """The slots ``position .. position + k - 1`` modulo ``capacity`` as one or two slices."""
    first = min(k, capacity - position)
    if first == k:
        return (slice(position, position + k),)
    return slice(position, capacity), slice(0, k - first)


class ReplayBuffer:
    """Fixed-capacity ring buffer of transitions; the oldest are overwritten first.

    The per-transition arrays are allocated up front. Observations live in a
    :class:`~farm.decision.frames.FrameStore` allocated on the first write: about ``capacity
    + 4 k`` frames when a learner adds ``k`` agents' observations per step
    (:meth:`add_frames`), ``2 * capacity`` when whole transitions are added (:meth:`add`).
    ``nbytes`` reports what is allocated.

    Attributes:
        frames: the observations' store.
        frame_ids, next_frame_ids: ``(N,) int64`` each transition's observation and next
            observation in ``frames``.
        actions ``(N,) int64``, rewards ``(N,) float32``, dones ``(N,) bool``,
        next_action_masks ``(N, A) bool``: the rest of each transition.
        position: the next slot to write; size: transitions held.
    """

    def __init__(self, capacity: int, obs_shape: tuple[int, ...], num_actions: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity!r}")
        self.capacity = int(capacity)
        self.frames = FrameStore(obs_shape)
        self.frame_ids = np.zeros(capacity, dtype=np.int64)  # (N,)
        self.next_frame_ids = np.zeros(capacity, dtype=np.int64)  # (N,)
        self.actions = np.zeros(capacity, dtype=np.int64)  # (N,)
        self.rewards = np.zeros(capacity, dtype=np.float32)  # (N,)
        self.dones = np.zeros(capacity, dtype=np.bool_)  # (N,)
        self.next_action_masks = np.zeros((capacity, num_actions), dtype=np.bool_)  # (N, A)
        self.position = 0  # next row to write
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def size_after(self, count: int) -> int:
        """Transitions held once ``count`` more are stored (the oldest go past capacity)."""
        return min(self.size + int(count), self.capacity)

    @property
    def nbytes(self) -> int:
        """Bytes allocated: the frames plus the per-transition arrays."""
        return self.frames.nbytes + sum(
            a.nbytes
            for a in (
                self.frame_ids, self.next_frame_ids, self.actions, self.rewards, self.dones, self.next_action_masks,
            )
        )

    @property
    def oldest_frame(self) -> int:
        """The oldest frame id a held transition reads (``frames.written`` when empty)."""
        return int(self.frame_ids[: self.size].min()) if self.size else self.frames.written

    def add(
        self,
        observations: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        next_observations: np.ndarray,
        dones: np.ndarray,
        next_action_masks: np.ndarray,
    ) -> None:
        """Append ``k`` whole transitions (arrays with leading dimension ``k``).

        Each observation and next observation becomes a frame of its own.
        """
        k = int(np.shape(actions)[0])
        if k == 0:
            return
        if k > self.capacity:  # only the newest `capacity` rows survive anyway
            keep = slice(k - self.capacity, k)
            observations, actions, rewards = observations[keep], actions[keep], rewards[keep]
            next_observations, dones, next_action_masks = next_observations[keep], dones[keep], next_action_masks[keep]
            k = self.capacity
        start = self.frames.written
        ids = np.arange(start, start + k, dtype=np.int64)
        self._append(PairedTransitions(ids, actions, rewards, ids + k, dones, next_action_masks))
        self.frames.reserve(2 * k, self.oldest_frame, capacity_hint=2 * self.capacity)
        self.frames.put(observations)
        self.frames.put(next_observations)

    def add_frames(self, observations: np.ndarray, transitions: PairedTransitions, pending_frames: np.ndarray,
                   background: bool = True) -> None:
        """Store this step's observations as frames, and the transitions that refer to them.

        ``observations (k, C, H, W)`` become the frames ``frames.written ..
        frames.written + k - 1``; ``transitions`` refer to them or to earlier frames.

        Args:
            observations: this step's observations, in the order of the ids the caller gave them.
            transitions: completed transitions (frame ids, see
                :class:`~farm.decision.transitions.TransitionPairer`).
            pending_frames: ``(p,) int64`` frames the caller will still pair later; they are kept.
            background: a large write may be copied on the frame store's worker thread
                (:meth:`FrameStore.put`); False copies it here.
        """
        k = int(observations.shape[0])
        if transitions.actions.shape[0] > self.capacity:
            keep = slice(transitions.actions.shape[0] - self.capacity, None)
            transitions = PairedTransitions(*(column[keep] for column in transitions))
        self._append(transitions)
        oldest = self.oldest_frame
        if pending_frames.size:
            oldest = min(oldest, int(pending_frames.min()))
        self.frames.reserve(k, oldest, capacity_hint=self.capacity + 4 * k)
        self.frames.put(observations, background=background)

    def _append(self, transitions: PairedTransitions) -> None:
        k = int(transitions.actions.shape[0])
        if k == 0:
            return
        done = 0
        for slots in _ring_slices(self.position, k, self.capacity):
            part = slice(done, done + slots.stop - slots.start)
            self.frame_ids[slots] = transitions.frames[part]
            self.next_frame_ids[slots] = transitions.next_frames[part]
            self.actions[slots] = transitions.actions[part]
            self.rewards[slots] = transitions.rewards[part]
            self.dones[slots] = transitions.dones[part]
            self.next_action_masks[slots] = transitions.next_action_masks[part]
            done = part.stop
        self.position = int((self.position + k) % self.capacity)
        self.size = self.size_after(k)

    def gather(self, rows: np.ndarray) -> TransitionBatch:
        """The transitions in slots ``rows (B,)``, observations included."""
        return TransitionBatch(
            self.frames.read(self.frame_ids[rows]),
            self.actions[rows],
            self.rewards[rows],
            self.frames.read(self.next_frame_ids[rows]),
            self.dones[rows],
            self.next_action_masks[rows],
        )

    def sample(self, batch_size: int, rng: np.random.Generator) -> TransitionBatch:
        """``batch_size`` transitions drawn uniformly with replacement."""
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        return self.gather(rng.integers(0, self.size, size=batch_size))
