"""A background thread that owns the writes, fed through a bounded queue.

``submit`` hands a batch over and returns at once unless ``queue_size`` batches are already
waiting, in which case it blocks (back-pressure: nothing is dropped). sqlite3 releases the GIL
while sqlite works, so the simulation thread runs meanwhile. An error in the thread is raised
again in the caller by the next ``submit`` or by ``finish``.
"""

from __future__ import annotations

import logging
import queue
import threading

from farm.storage.buffer import FlushBatch
from farm.storage.writer import SqliteWriter

__all__ = ["BackgroundWriter"]

_LOG = logging.getLogger(__name__)
_STOP = None  # queue item that ends the thread


class BackgroundWriter:
    """Runs ``writer.write`` on a daemon thread, in submission order."""

    def __init__(self, writer: SqliteWriter, queue_size: int) -> None:
        self.writer = writer
        self._queue: queue.Queue[FlushBatch | None] = queue.Queue(maxsize=queue_size)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"farm-storage-writer-{writer.run_id}", daemon=True)
        self._thread.start()

    @property
    def committed_step(self) -> int:
        """The last step the background thread has committed (-1 before the first commit)."""
        return self.writer.committed_step

    @property
    def alive(self) -> bool:
        """Whether the thread still runs (and may still use the connection)."""
        return self._thread.is_alive()

    def submit(self, batch: FlushBatch) -> None:
        """Queue ``batch``; blocks while the queue is full."""
        self._raise_pending()
        self._queue.put(batch)

    def wait(self) -> None:
        """Block until every batch submitted so far is written; raise the thread's error if any."""
        self._queue.join()
        self._raise_pending()

    def finish(self) -> None:
        """Write everything queued, stop the thread, and raise its error if it had one."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()
        self._raise_pending()

    def _raise_pending(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise RuntimeError(f"the background storage writer failed: {error!r}") from error

    def _run(self) -> None:
        while True:
            batch = self._queue.get()
            if batch is _STOP:
                self._queue.task_done()
                return
            try:
                if self._error is None:  # after an error, keep draining so a blocked submit() wakes up
                    self.writer.write(batch)
            except BaseException as error:  # noqa: BLE001 - handed to the caller's thread
                # Not logged as an error: the caller's next submit, wait or finish raises it, and
                # the CLI reports it in one line.
                _LOG.debug("background storage writer failed: %r", error)
                self._error = error
            finally:
                self._queue.task_done()
