"""The tables of the simulation log and the SQL that creates them.

One database holds many runs: every table but ``simulations`` carries a ``run_id``. Step
indexes are created with the tables and grow by appending (steps arrive in order). The per-agent
indexes of ``agent_states`` and ``agent_actions`` are built when a run closes
(:data:`AGENT_INDEXES`): inserting every step's 1 000 ids into a B-tree ordered by agent id
costs more than the rows themselves, while one sorted build at the end is cheap.

A file that holds earlier runs has those indexes already, and a new run's inserts would pay for
them, row by row and scattered over the B-tree (``bench_workload.WorkloadRerun`` measures the
preset in such a second run). So a new run drops them first (:func:`drop_agent_indexes`) and
its close builds them again over every run of the file, as long as that rebuild stays short: up
to :data:`AGENT_INDEX_REBUILD_ROWS` rows in ``agent_states``. A run killed before its close
leaves the file without per-agent indexes (every row intact; lookups by agent scan) until the
next run closes.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from functools import cached_property

__all__ = [
    "Table",
    "TABLES",
    "STEP_TABLES",
    "AGENT_INDEXES",
    "AGENT_INDEX_REBUILD_ROWS",
    "SIMULATIONS_DDL",
    "SIMULATIONS_COLUMNS",
    "create_schema",
    "create_agent_indexes",
    "drop_agent_indexes",
]


@dataclass(frozen=True)
class Table:
    """A logged table: its name and its columns (``run_id`` first) with their SQL types.

    ``updated_columns`` are filled in later by an ``UPDATE`` and left out of the ``INSERT``.
    """

    name: str
    columns: tuple[tuple[str, str], ...]
    updated_columns: tuple[str, ...] = ()

    @cached_property
    def column_names(self) -> tuple[str, ...]:
        """The column names, in table order."""
        return tuple(name for name, _ in self.columns)

    @cached_property
    def insert_columns(self) -> tuple[str, ...]:
        """The columns an ``INSERT`` writes, ``run_id`` first."""
        return tuple(name for name in self.column_names if name not in self.updated_columns)

    @cached_property
    def logged_columns(self) -> tuple[str, ...]:
        """The columns a logger hands over for each row: ``insert_columns`` without ``run_id``."""
        return self.insert_columns[1:]

    def dtype_kinds(self, column: str) -> str:
        """The numpy dtype kinds a column accepts.

        ``"iub"`` for INTEGER (bool is 0/1), ``"f"`` for REAL, ``"OUS"`` for TEXT. Kinds are strict
        so that swapping an integer column with a real one is an error, not a silent conversion.
        """
        sql_type = dict(self.columns)[column].split()[0]
        return {"INTEGER": "iub", "REAL": "f", "TEXT": "OUS"}[sql_type]

    @property
    def ddl(self) -> str:
        """``CREATE TABLE IF NOT EXISTS`` statement of the table."""
        body = ", ".join(f"{name} {sql_type}" for name, sql_type in self.columns)
        return f"CREATE TABLE IF NOT EXISTS {self.name} ({body})"

    def insert_sql(self, rows: int = 1) -> str:
        """``INSERT`` of ``rows`` rows in one statement (``rows * len(insert_columns)`` parameters)."""
        names = self.insert_columns
        one = "(" + ",".join("?" * len(names)) + ")"
        return f"INSERT INTO {self.name} ({', '.join(names)}) VALUES " + ",".join([one] * rows)


SIMULATIONS_DDL = (
    "CREATE TABLE IF NOT EXISTS simulations ("
    "id INTEGER PRIMARY KEY AUTOINCREMENT, config_json TEXT NOT NULL, seed INTEGER NOT NULL, "
    "start_time REAL NOT NULL, end_time REAL, status TEXT NOT NULL, last_step INTEGER)"
)

AGENTS = Table(
    "agents",
    (
        ("run_id", "INTEGER NOT NULL"),
        ("agent_id", "INTEGER NOT NULL"),
        ("agent_type", "INTEGER NOT NULL"),
        ("birth_step", "INTEGER NOT NULL"),
        ("parent_id", "INTEGER NOT NULL"),
        ("generation", "INTEGER NOT NULL"),
        ("death_step", "INTEGER"),
    ),
    updated_columns=("death_step",),
)
AGENT_STATES = Table(
    "agent_states",
    (
        ("run_id", "INTEGER NOT NULL"),
        ("step", "INTEGER NOT NULL"),
        ("agent_id", "INTEGER NOT NULL"),
        ("position_x", "REAL NOT NULL"),
        ("position_y", "REAL NOT NULL"),
        ("resources", "REAL NOT NULL"),
        ("health", "REAL NOT NULL"),
        ("starvation", "INTEGER NOT NULL"),
        ("reward", "REAL NOT NULL"),
        ("action", "INTEGER NOT NULL"),
    ),
)
AGENT_ACTIONS = Table(
    "agent_actions",
    (
        ("run_id", "INTEGER NOT NULL"),
        ("step", "INTEGER NOT NULL"),
        ("agent_id", "INTEGER NOT NULL"),
        ("action", "INTEGER NOT NULL"),
        ("target", "INTEGER NOT NULL"),
        ("success", "INTEGER NOT NULL"),
        ("reward", "REAL NOT NULL"),
    ),
)
RESOURCE_STATES = Table(
    "resource_states",
    (
        ("run_id", "INTEGER NOT NULL"),
        ("step", "INTEGER NOT NULL"),
        ("node", "INTEGER NOT NULL"),
        ("amount", "REAL NOT NULL"),
    ),
)
SIMULATION_STEPS = Table(
    "simulation_steps",
    (
        ("run_id", "INTEGER NOT NULL"),
        ("step", "INTEGER NOT NULL"),
        ("population_system", "INTEGER NOT NULL"),
        ("population_independent", "INTEGER NOT NULL"),
        ("population_control", "INTEGER NOT NULL"),
        ("total_resources", "REAL NOT NULL"),
        ("births", "INTEGER NOT NULL"),
        ("deaths", "INTEGER NOT NULL"),
        ("mean_reward", "REAL NOT NULL"),
        ("step_duration", "REAL NOT NULL"),
    ),
)
INTERACTIONS = Table(
    "interactions",
    (
        ("run_id", "INTEGER NOT NULL"),
        ("step", "INTEGER NOT NULL"),
        ("source", "INTEGER NOT NULL"),
        ("target", "INTEGER NOT NULL"),
        ("kind", "INTEGER NOT NULL"),
        ("amount", "REAL NOT NULL"),
    ),
)
TRAINING_METRICS = Table(
    "training_metrics",
    (
        ("run_id", "INTEGER NOT NULL"),
        ("step", "INTEGER NOT NULL"),
        ("agent_type", "TEXT NOT NULL"),
        ("name", "TEXT NOT NULL"),
        ("value", "REAL NOT NULL"),
    ),
)

# Every logged table by name, in the order a flush writes them (agents before deaths update them).
TABLES: dict[str, Table] = {
    table.name: table
    for table in (
        AGENTS, AGENT_STATES, AGENT_ACTIONS, RESOURCE_STATES, SIMULATION_STEPS, INTERACTIONS, TRAINING_METRICS
    )
}
# Tables with one or more rows per step.
STEP_TABLES = tuple(name for name in TABLES if name != "agents")

_INDEXES = (
    "CREATE UNIQUE INDEX IF NOT EXISTS agents_run_agent ON agents (run_id, agent_id)",
    "CREATE INDEX IF NOT EXISTS agent_states_run_step ON agent_states (run_id, step)",
    "CREATE INDEX IF NOT EXISTS agent_actions_run_step ON agent_actions (run_id, step)",
    "CREATE INDEX IF NOT EXISTS resource_states_run_step ON resource_states (run_id, step)",
    "CREATE UNIQUE INDEX IF NOT EXISTS simulation_steps_run_step ON simulation_steps (run_id, step)",
    "CREATE INDEX IF NOT EXISTS interactions_run_step ON interactions (run_id, step)",
    "CREATE INDEX IF NOT EXISTS training_metrics_run_step ON training_metrics (run_id, step)",
)
# name -> what it indexes
_AGENT_INDEX_COLUMNS = {
    "agent_states_run_agent": "agent_states (run_id, agent_id, step)",
    "agent_actions_run_agent": "agent_actions (run_id, agent_id, step)",
    "interactions_run_source": "interactions (run_id, source)",
}
AGENT_INDEXES = tuple(f"CREATE INDEX IF NOT EXISTS {name} ON {on}" for name, on in _AGENT_INDEX_COLUMNS.items())
# Rows of agent_states up to which a new run drops the per-agent indexes and its close rebuilds
# them (a sorted build over every run of the file, so the close stays short); beyond, a new run
# keeps them and pays for them row by row.
AGENT_INDEX_REBUILD_ROWS = 2_000_000


SIMULATIONS_COLUMNS = ("id", "config_json", "seed", "start_time", "end_time", "status", "last_step")


def create_schema(connection: sqlite3.Connection) -> None:
    """Create every table and step index that does not exist yet, in one transaction.

    Raises ``ValueError`` naming the table when an existing table has other columns (a database
    written by another program or another version of this one).
    """
    with connection:
        connection.execute(SIMULATIONS_DDL)
        for table in TABLES.values():
            connection.execute(table.ddl)
        expected = {"simulations": SIMULATIONS_COLUMNS} | {name: t.column_names for name, t in TABLES.items()}
        for name, columns in expected.items():
            found = tuple(row[1] for row in connection.execute(f"PRAGMA table_info({name})"))
            if found != columns:
                raise ValueError(f"table {name} has columns {found}, expected {columns}")
        for statement in _INDEXES:
            connection.execute(statement)


def drop_agent_indexes(connection: sqlite3.Connection, row_limit: int = AGENT_INDEX_REBUILD_ROWS) -> bool:
    """Drop the per-agent indexes before a new run logs, unless the file holds too many rows.

    The file's rows are read as the largest rowid of ``agent_states`` (no table scan); over
    ``row_limit`` the indexes are kept.

    Returns:
        True when they were dropped (or did not exist), False when they were kept.
    """
    held = connection.execute("SELECT max(rowid) FROM agent_states").fetchone()[0] or 0
    if held > row_limit:
        return False
    with connection:
        for name in _AGENT_INDEX_COLUMNS:
            connection.execute(f"DROP INDEX IF EXISTS {name}")
    return True


def create_agent_indexes(connection: sqlite3.Connection) -> None:
    """Build the per-agent indexes (a no-op once they exist)."""
    with connection:
        for statement in AGENT_INDEXES:
            connection.execute(statement)
