"""Writes :class:`~farm.storage.buffer.FlushBatch` es to sqlite, one transaction per batch.

Batched mode turns each table's columns into SQL parameters without a Python loop over rows:
``tolist()`` per column, interleaved into one flat row-major list by slice assignment, and
``executemany`` of a multi-row ``INSERT`` (``rows_per_statement`` rows per execution),
``_CHUNK_ROWS`` rows at a time. Executing one statement per 64 rows instead of one per row removes
most of sqlite3's per-execution overhead. The rows that do not fill a whole statement go out in
statements of 32, 16, ..., 1 rows, so every statement text is one of a few cached ones.

Converting a chunk of rows at a time, not a whole flush, keeps each stretch of Python work short:
sqlite releases the GIL in every ``sqlite3_step``, so the background writer
(:class:`~farm.storage.background.BackgroundWriter`) holds the GIL for one chunk's conversion at
most, not for a whole flush's ``tolist``, while the simulation thread runs.

Row-at-a-time mode is the unbuffered reference, the way a logger without a buffer writes: every
row is one single-row ``INSERT`` committed in its own transaction, as soon as it is logged.
"""

from __future__ import annotations

import sqlite3

import numpy as np

from farm.storage.buffer import FlushBatch
from farm.storage.config import WriteMode
from farm.storage.schema import TABLES, Table

__all__ = ["SqliteWriter", "rows_per_statement", "column_lists"]

# Parameters one statement may bind on every sqlite build (SQLITE_MAX_VARIABLE_NUMBER was 999
# before 3.32).
_MAX_PARAMETERS = 999
# More rows per statement than this brings nothing measurable (checked with 64..512).
_MAX_ROWS_PER_STATEMENT = 64
# Rows turned into Python parameters at a time (a multiple of every rows_per_statement): ~0.15 ms
# of GIL-holding work for agent_states on the 2-core reference machine, against ~15 ms for the
# 10 000 rows of a whole flush of the agentfarm preset at 1 000 agents.
_CHUNK_ROWS = 1024


def rows_per_statement(width: int) -> int:
    """Rows per multi-row ``INSERT`` for a table of ``width`` columns: a power of two."""
    rows = 1
    while rows * 2 * width <= _MAX_PARAMETERS and rows * 2 <= _MAX_ROWS_PER_STATEMENT:
        rows *= 2
    return rows


def column_lists(run_id: int, columns: tuple[np.ndarray, ...]) -> list[list]:
    """The SQL parameters of a table's rows, column by column, ``run_id`` first."""
    rows = len(columns[0])
    return [[run_id] * rows] + [column.tolist() for column in columns]


class SqliteWriter:
    """Writes batches of one run through one connection.

    Attributes:
        committed_step: the last step whose rows are committed (-1 before the first commit).
    """

    def __init__(self, connection: sqlite3.Connection, run_id: int, write_mode: WriteMode) -> None:
        self.connection = connection
        self.run_id = run_id
        self.write_mode = write_mode
        self.committed_step = -1

    def write(self, batch: FlushBatch) -> None:
        """Write ``batch`` and the run's last step.

        In one transaction (BATCHED), or one transaction per row and a last one for the
        bookkeeping (ROW_AT_A_TIME).
        """
        if self.write_mode is WriteMode.ROW_AT_A_TIME:
            for name, columns in batch.tables.items():
                self.insert(TABLES[name], columns)
        with self.connection:
            if self.write_mode is WriteMode.BATCHED:
                for name, columns in batch.tables.items():
                    self.insert(TABLES[name], columns)
            if len(batch.death_ids):
                self.connection.executemany(
                    "UPDATE agents SET death_step = ? WHERE run_id = ? AND agent_id = ?",
                    zip(batch.death_steps.tolist(), [self.run_id] * len(batch.death_ids), batch.death_ids.tolist()),
                )
            if batch.last_step >= 0:
                self.connection.execute(
                    "UPDATE simulations SET last_step = ? WHERE id = ?", (batch.last_step, self.run_id)
                )
        if batch.last_step >= 0:
            self.committed_step = batch.last_step

    def insert(self, table: Table, columns: tuple[np.ndarray, ...]) -> None:
        """Insert the rows given as columns (``insert_columns`` minus ``run_id``, each ``(rows,)``)."""
        if self.write_mode is WriteMode.ROW_AT_A_TIME:
            statement = table.insert_sql(1)
            for row in zip(*column_lists(self.run_id, columns)):
                with self.connection:
                    self.connection.execute(statement, row)
            return
        rows = len(columns[0])
        for start in range(0, rows, _CHUNK_ROWS):  # whole statements in every chunk but the last
            chunk = columns if rows <= _CHUNK_ROWS else tuple(column[start : start + _CHUNK_ROWS] for column in columns)
            self._insert_batched(table, column_lists(self.run_id, chunk))

    def _insert_batched(self, table: Table, lists: list[list]) -> None:
        width, rows = len(lists), len(lists[0])
        flat: list = [None] * (rows * width)  # row-major parameters: row r, column c at r * width + c
        for index, values in enumerate(lists):
            flat[index::width] = values
        per_statement = rows_per_statement(width)
        span = per_statement * width
        whole = rows - rows % per_statement
        if whole:
            self.connection.executemany(
                table.insert_sql(per_statement), [flat[start : start + span] for start in range(0, whole * width, span)]
            )
        start, size = whole, per_statement // 2
        while start < rows:
            if rows - start >= size:
                self.connection.execute(table.insert_sql(size), flat[start * width : (start + size) * width])
                start += size
            size //= 2
