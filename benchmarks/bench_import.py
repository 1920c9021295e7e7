"""Reference points: the cost of ``import farm`` and the peak-memory floor of a benchmark process.

Every ``peakmem_*`` value of the suite includes the interpreter, asv's runner and the imports of
its module. ``MemoryFloor.peakmem_empty`` is that floor with nothing imported (read other peakmem
values relative to it); ``MemoryFloor.peakmem_import_farm`` adds ``import farm`` alone.
"""

from __future__ import annotations

import importlib
import importlib.util


def _require_farm() -> None:
    if importlib.util.find_spec("farm") is None:
        raise NotImplementedError("no farm package at this commit")


class ImportTime:
    """Wall time of ``import farm`` in a fresh interpreter (asv runs the code in a subprocess)."""

    version = 1
    repeat = (5, 6, 2.0)  # ~0.45 s per fresh interpreter; (5, 10, 2.0) until issue 13's second cut

    def setup(self):
        _require_farm()

    def timeraw_import_farm(self):
        return "import farm"


class MemoryFloor:
    """Peak resident memory of an otherwise empty benchmark process, in bytes."""

    version = 1

    def peakmem_empty(self):
        pass


class MemoryImportFarm:
    """Peak resident memory of a benchmark process after ``import farm``, in bytes."""

    version = 1

    def setup(self):
        _require_farm()
        importlib.import_module("farm")

    def peakmem_import_farm(self):
        pass
