"""A numpy memmap on a private scratch file that cannot outlive its process.

The engine keeps two arrays on disk when configured to (resource amounts with
``resources.storage = "memmap"``, the world resource grid with
``observation.resource_source = "memmap"``). Deleting their files in ``close()`` or in a
finalizer is not enough: a process killed by a signal, or one that ends through ``os._exit``
(asv's forked benchmark workers do), runs neither, and each run would leave its files in the
temporary directory. On POSIX the file is therefore unlinked as soon as it is mapped; the
mapping keeps its pages, still backed by the file system, and the kernel frees them when the
last view of the array goes away. Where an open mapped file cannot be unlinked (Windows), it is
removed when the memmap is garbage collected or at interpreter exit.
"""

from __future__ import annotations

import os
import tempfile
import weakref

import numpy as np

__all__ = ["scratch_memmap"]


def _remove_file(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def scratch_memmap(prefix: str, suffix: str, dtype: np.dtype | type, shape: tuple[int, ...]) -> np.memmap:
    """A new zero-filled read-write ``shape`` memmap of ``dtype`` on a scratch file.

    The file is created in :func:`tempfile.gettempdir` (``TMPDIR``), named ``prefix``, random
    characters, ``suffix``; no file name stays visible there on POSIX (see the module docstring).
    ``shape`` must hold at least one element: a memmap cannot map an empty file.
    """
    if int(np.prod(shape)) < 1:
        raise ValueError(f"scratch_memmap: shape {shape!r} holds no element; a memmap needs at least one")
    fd, path = tempfile.mkstemp(prefix=prefix, suffix=suffix)
    os.close(fd)
    try:
        array = np.memmap(path, dtype=dtype, mode="w+", shape=shape)
    except BaseException:
        _remove_file(path)
        raise
    try:
        os.remove(path)
    except OSError:  # the platform keeps mapped files: remove it once the array is gone
        weakref.finalize(array, _remove_file, path)
    return array
