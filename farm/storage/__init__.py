"""SQLite simulation log: schema, batched column writer, PRAGMA profiles, reader.

``make_logger(config.storage, config_json, seed)`` opens the log of a run; ``open_run(path)``
reads one back as numpy columns.
"""

from farm.storage.config import PragmaProfile, StorageConfig, WriteMode
from farm.storage.factory import make_logger
from farm.storage.logger import SimulationLogger
from farm.storage.reader import RunReader, list_runs, open_run
from farm.storage.status import RunStatus

__all__ = [
    "PragmaProfile",
    "StorageConfig",
    "WriteMode",
    "RunStatus",
    "SimulationLogger",
    "make_logger",
    "RunReader",
    "open_run",
    "list_runs",
]
