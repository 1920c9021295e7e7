"""The multi-row INSERT writer against the row-at-a-time reference, for every tail length."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from farm.storage.buffer import ColumnBuffer
from farm.storage.config import WriteMode
from farm.storage.schema import TABLES, create_schema
from farm.storage.writer import SqliteWriter, rows_per_statement


def test_rows_per_statement_is_a_power_of_two_within_the_parameter_limit():
    for width in range(1, 40):
        rows = rows_per_statement(width)
        assert rows & (rows - 1) == 0 and rows * width <= 999 and rows <= 64
        assert rows == 64 or rows * 2 * width > 999


def _interaction_columns(rows: int, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    return (
        rng.integers(0, 50, rows), rng.integers(0, 10**6, rows), rng.integers(-1, 10**6, rows),
        rng.integers(0, 4, rows).astype(np.int8), rng.random(rows),
    )


@pytest.mark.parametrize("rows", [0, 1, 2, 31, 63, 64, 65, 127, 128, 129, 200, 1000, 1023, 1024, 1025, 2111, 5000])
def test_batched_insert_writes_the_same_rows_in_the_same_order(rows):
    columns = _interaction_columns(rows, seed=rows)
    results = {}
    for mode in WriteMode:
        connection = sqlite3.connect(":memory:")
        create_schema(connection)
        writer = SqliteWriter(connection, run_id=7, write_mode=mode)
        with connection:
            if rows:
                writer.insert(TABLES["interactions"], columns)
        results[mode] = connection.execute("SELECT * FROM interactions ORDER BY rowid").fetchall()
    expected = [(7, *row) for row in zip(*(c.tolist() for c in columns))]
    assert results[WriteMode.ROW_AT_A_TIME] == expected
    assert results[WriteMode.BATCHED] == expected


def test_column_buffer_copies_its_input_and_concatenates_in_order():
    buffer = ColumnBuffer(TABLES["resource_states"])
    steps, nodes, amounts = np.zeros(3, dtype=np.int64), np.arange(3), np.array([1.0, 2.0, 3.0])
    buffer.append({"step": steps, "node": nodes, "amount": amounts})
    amounts[:] = -1.0  # the caller reuses its array: the buffer must not see it
    buffer.append({"amount": amounts, "node": nodes, "step": steps + 1})  # any order: names decide
    assert buffer.rows == 6 and buffer.appended == 6
    got_steps, got_nodes, got_amounts = buffer.take()
    assert got_steps.tolist() == [0, 0, 0, 1, 1, 1]
    assert got_amounts.tolist() == [1.0, 2.0, 3.0, -1.0, -1.0, -1.0]
    assert buffer.rows == 0 and buffer.appended == 6


def test_column_buffer_rejects_ragged_columns():
    buffer = ColumnBuffer(TABLES["resource_states"])
    with pytest.raises(ValueError, match="resource_states.amount"):
        buffer.append({"step": np.zeros(3, dtype=np.int64), "node": np.arange(3), "amount": np.ones(2)})


@pytest.mark.parametrize("columns, message", [
    ({"step": np.zeros(2, np.int64), "node": np.arange(2)}, r"missing columns \['amount'\]"),
    ({"step": np.zeros(2, np.int64), "node": np.arange(2), "amount": np.ones(2), "amt": np.ones(2)},
     r"unknown columns \['amt'\]"),
    # swapped: the node indexes given as the amounts and the amounts as the nodes
    ({"step": np.zeros(2, np.int64), "node": np.ones(2), "amount": np.arange(2)}, r"resource_states.node: .*INTEGER"),
])
def test_column_buffer_names_a_missing_unknown_or_swapped_column(columns, message):
    buffer = ColumnBuffer(TABLES["resource_states"])
    with pytest.raises(ValueError, match=message):
        buffer.append(columns)
    assert buffer.rows == 0


def test_every_logged_column_of_every_table_has_a_checked_kind():
    for table in TABLES.values():
        assert table.logged_columns == table.insert_columns[1:] and table.insert_columns[0] == "run_id"
        for name in table.logged_columns:
            assert table.dtype_kinds(name) in ("iub", "f", "OUS")
