"""Column buffers: what the logger holds between two flushes.

Each logged step appends one numpy array per column (copied, so later changes to the caller's
arrays cannot reach the log); a flush concatenates each column once. No row objects exist
until the writer turns the columns into SQL parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from farm.storage.schema import TABLES, Table

__all__ = ["ColumnBuffer", "FlushBatch", "StepBuffers"]


class ColumnBuffer:
    """Buffered rows of one table as per-column chunks.

    Columns are given by name: the table's ``logged_columns`` (``insert_columns`` without
    ``run_id``, which the writer adds), checked against the schema, so a column cannot land in
    another column's place.
    """

    def __init__(self, table: Table) -> None:
        self.table = table
        self.names = table.logged_columns
        self._name_set = frozenset(self.names)
        self.width = len(self.names)
        self._kinds = tuple(table.dtype_kinds(name) for name in self.names)
        self._chunks: list[list[np.ndarray]] = [[] for _ in range(self.width)]
        self.rows = 0
        self.appended = 0  # rows ever appended, flushed or not

    def append(self, columns: Mapping[str, np.ndarray], copy: bool = True) -> None:
        """Add ``k`` rows given as ``{column name: (k,) array}``, one entry per logged column.

        Args:
            columns: one ``(k,)`` array per logged column.
            copy: copy each column (the default), so later changes to the caller's arrays cannot
                reach the log. False keeps the arrays themselves, one copy fewer per column: only
                for arrays nothing else holds or changes (the logger's own copies and constants).

        Raises:
            ValueError: a column is missing or unknown, has another length than the first, or
                (with rows) has a dtype its SQL type does not take (see ``Table.dtype_kinds``).
        """
        if columns.keys() != self._name_set:
            missing = [name for name in self.names if name not in columns]
            unknown = [name for name in columns if name not in self.names]
            raise ValueError(f"{self.table.name}: missing columns {missing}, unknown columns {unknown}")
        ordered = [columns[name] for name in self.names]
        length = len(ordered[0])
        for name, kinds, column in zip(self.names, self._kinds, ordered):
            if column.shape != (length,):
                raise ValueError(
                    f"{self.table.name}.{name}: expected shape ({length},) like the other columns, got {column.shape}"
                )
            if length and column.dtype.kind not in kinds:
                raise ValueError(
                    f"{self.table.name}.{name}: a {dict(self.table.columns)[name]} column, got {column.dtype}"
                )
        if length == 0:
            return
        for chunks, column in zip(self._chunks, ordered):
            chunks.append(np.array(column, copy=True) if copy else column)
        self.rows += length
        self.appended += length

    def take(self) -> tuple[np.ndarray, ...]:
        """The buffered columns, each ``(rows,)``, and an empty buffer."""
        columns = tuple(chunks[0] if len(chunks) == 1 else np.concatenate(chunks) for chunks in self._chunks)
        self._chunks = [[] for _ in range(self.width)]
        self.rows = 0
        return columns

    @property
    def nbytes(self) -> int:
        """Bytes held by the buffered chunks."""
        return sum(chunk.nbytes for chunks in self._chunks for chunk in chunks)


@dataclass
class FlushBatch:
    """Whole steps, ready to be written in one transaction.

    Attributes:
        tables: table name -> columns (``insert_columns`` minus ``run_id``), each ``(rows,)``.
        death_steps, death_ids: ``(d,) int64`` the agents that died and when.
        last_step: the last step the batch completes.
    """

    tables: dict[str, tuple[np.ndarray, ...]]
    death_steps: np.ndarray
    death_ids: np.ndarray
    last_step: int

    @property
    def rows(self) -> int:
        """Rows in the batch, all tables together."""
        return sum(len(columns[0]) for columns in self.tables.values())


class StepBuffers:
    """One :class:`ColumnBuffer` per table plus the pending death updates."""

    def __init__(self) -> None:
        self.tables: dict[str, ColumnBuffer] = {name: ColumnBuffer(table) for name, table in TABLES.items()}
        self._death_steps: list[np.ndarray] = []
        self._death_ids: list[np.ndarray] = []
        self.last_step: int | None = None

    def add_deaths(self, step: int, ids: np.ndarray) -> None:
        """Buffer the death of the agents ``ids (k,)`` at ``step`` (an update of their rows)."""
        if len(ids):
            self._death_ids.append(np.array(ids, dtype=np.int64, copy=True))
            self._death_steps.append(np.full(len(ids), step, dtype=np.int64))

    @property
    def max_rows(self) -> int:
        """The largest row count buffered for one table."""
        return max([buffer.rows for buffer in self.tables.values()])

    @property
    def empty(self) -> bool:
        """True when no step, row or death is buffered."""
        return self.last_step is None and not self._death_ids and all(b.rows == 0 for b in self.tables.values())

    @property
    def nbytes(self) -> int:
        """Bytes held by the buffered columns."""
        return sum(b.nbytes for b in self.tables.values()) + sum(a.nbytes * 2 for a in self._death_ids)

    def take(self) -> FlushBatch:
        """Everything buffered as one batch; the buffers start over."""
        tables = {name: buffer.take() for name, buffer in self.tables.items() if buffer.rows}
        if self._death_ids:
            death_ids, death_steps = np.concatenate(self._death_ids), np.concatenate(self._death_steps)
        else:
            death_ids = death_steps = np.empty(0, dtype=np.int64)
        batch = FlushBatch(tables, death_steps, death_ids, -1 if self.last_step is None else self.last_step)
        self._death_ids, self._death_steps, self.last_step = [], [], None
        return batch
