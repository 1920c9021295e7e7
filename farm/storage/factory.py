"""``make_logger``: what the engine calls to open the log of one run."""

from __future__ import annotations

import logging
import os
import sqlite3
import time

from farm.storage.config import MEMORY_PATH, PragmaProfile, StorageConfig
from farm.storage.logger import SimulationLogger
from farm.storage.paths import check_writable_path
from farm.storage.pragmas import apply_profile
from farm.storage.schema import AGENT_INDEX_REBUILD_ROWS, create_schema, drop_agent_indexes
from farm.storage.status import RunStatus

__all__ = ["make_logger"]

_LOG = logging.getLogger(__name__)


def make_logger(config: StorageConfig, config_json: str, seed: int) -> SimulationLogger | None:
    """Open (or create) the database, register a new run, and return its logger.

    Returns None when ``config.db_path`` is None. Raises ``ValueError`` in one line, before
    anything is logged, when the database cannot be written where the config says.
    """
    if config.db_path is None:
        return None
    field_name = "storage.persist_path" if config.db_path == MEMORY_PATH else "storage.db_path"
    file_path = config.file_path
    if file_path is not None:
        check_writable_path(field_name, file_path)
    try:
        connection = _open(config, file_path)
    except (sqlite3.Error, ValueError) as exc:
        raise ValueError(f"{field_name} {file_path!r}: cannot use it as an SQLite database ({exc})") from None
    try:
        with connection:
            cursor = connection.execute(
                "INSERT INTO simulations (config_json, seed, start_time, status) VALUES (?, ?, ?, ?)",
                (config_json, int(seed), time.time(), RunStatus.RUNNING.value),
            )
        run_id = int(cursor.lastrowid)
    except BaseException:
        connection.close()
        raise
    persist_path = file_path if config.in_memory else None
    return SimulationLogger(config, connection, run_id, persist_path)


def _open(config: StorageConfig, file_path: str | None) -> sqlite3.Connection:
    """A connection with the profile applied and the schema created.

    An in-memory run starts from a copy of the runs already in ``file_path`` (when it holds
    any), so that the backup on close keeps them.
    """
    if config.in_memory:
        connection = sqlite3.connect(MEMORY_PATH, check_same_thread=False)
    else:
        connection = sqlite3.connect(config.db_path, check_same_thread=False)
    try:
        if config.in_memory and file_path is not None:
            _probe_writable(file_path)
            if os.path.getsize(file_path) > 0:
                source = sqlite3.connect(file_path)
                try:
                    source.backup(connection)
                finally:
                    source.close()
        apply_profile(connection, PragmaProfile.MEMORY if config.in_memory else config.pragma_profile)
        create_schema(connection)
        # Earlier runs' per-agent indexes would make every insert of this run pay for them; the
        # logger's close builds them again (see farm.storage.schema).
        if not drop_agent_indexes(connection):
            _LOG.info("%s holds over %d agent_states rows: its per-agent indexes are kept and updated row by row",
                      file_path, AGENT_INDEX_REBUILD_ROWS)
    except BaseException:
        connection.close()
        raise
    return connection


def _probe_writable(path: str) -> None:
    """Take and release a write lock on ``path`` (creating an empty file if there was none)."""
    probe = sqlite3.connect(path)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
    finally:
        probe.close()

