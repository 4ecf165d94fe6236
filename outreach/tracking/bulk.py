"""The hot SQL of ingestion: a batch is loaded into a temporary stage table, then moved in one statement.

Why a stage: the database deduplicates the whole batch against what it already holds with one
INSERT ... SELECT ... ON CONFLICT DO NOTHING, and the rows reach it by each driver's fastest path for
plain tuples: COPY on PostgreSQL (psycopg 3), executemany on SQLite. The rows that were new come
back by RETURNING on PostgreSQL, and on SQLite as one JSON value (`select_rows`). The multi-row
VALUES statements used before cost more than the database's own work: psycopg re-split a
30,000-placeholder query text on every batch (~170 ms per 1,000 events, profiled) and converting
every value one by one cost ~20 µs per event.

Lists of ids travel as one parameter (an array literal on PostgreSQL, a JSON array read with
`json_each` on SQLite) rather than as thousands of placeholders. Timestamps go to SQLite in
SQLAlchemy's own text format, so ORM reads and comparisons keep working; psycopg takes datetimes
as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from outreach.delivery.bulk import array_literal

EVENT_COLUMNS = (
    "provider", "provider_event_id", "message_id", "event", "occurred_at", "received_at", "machine", "url",
    "reason", "bounce", "raw",
)  # fmt: skip
UNMATCHED_COLUMNS = (
    "provider", "provider_event_id", "message_key", "provider_message_id", "event", "occurred_at",
    "received_at", "raw",
)  # fmt: skip


def insert_new(
    connection: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> dict[tuple[str, str], int]:
    """Insert event rows, skipping those already stored: (provider, event id) -> id, for each row inserted.

    Rows go in key order, so concurrent batches on PostgreSQL take their index locks in the same
    order and cannot deadlock each other.
    """
    if not rows:
        return {}
    stage = f"stage_{table}"
    names = ", ".join(columns)
    _load(connection, stage, table, names, rows)
    insert = (
        f"INSERT INTO {table} ({names}) SELECT {names} FROM {stage} WHERE true "
        "ORDER BY provider, provider_event_id ON CONFLICT (provider, provider_event_id) DO NOTHING"
    )
    if _is_postgres(connection):  # the stage empties itself at commit (ON COMMIT DELETE ROWS)
        inserted = connection.exec_driver_sql(f"{insert} RETURNING provider, provider_event_id, id")
        return {(provider, event_id): row_id for provider, event_id, row_id in inserted}
    # SQLite: the ingestion transaction holds the write lock (BEGIN IMMEDIATE) and a new row's id is
    # above every id the table held, so the new rows are those above the maximum before the insert.
    before = connection.exec_driver_sql(f"SELECT COALESCE(MAX(id), 0) FROM {table}").scalar_one()
    connection.exec_driver_sql(insert)
    connection.exec_driver_sql(f"DELETE FROM {stage}")
    inserted = select_rows(
        connection, ("provider", "provider_event_id", "id"), f"FROM {table} WHERE id > ?", (before,)
    )
    return {(provider, event_id): row_id for provider, event_id, row_id in inserted}


def select_rows(
    connection: Connection, columns: Sequence[str], rest: str, parameters: tuple[Any, ...]
) -> Sequence[Sequence[Any]]:
    """The rows of `SELECT columns rest`; on SQLite folded into one JSON value on the way out.

    Why on SQLite: the driver lets go of the interpreter lock for every row it steps through, and in
    the tracking service another thread is parsing the next request meanwhile, so each of thousands
    of rows could wait for that thread to yield; one value is one hand-over. (Profiled in the
    service at 1,000,000 events: fetching rows was 9 % of the writer's time.)
    """
    names = ", ".join(columns)
    if _is_postgres(connection):
        return connection.exec_driver_sql(f"SELECT {names} {rest}", parameters).all()
    folded = connection.exec_driver_sql(f"SELECT json_group_array(json_array({names})) {rest}", parameters)
    return orjson.loads(folded.scalar_one())


def any_of(connection: Connection, values: Sequence[Any]) -> tuple[str, Any]:
    """A condition "is one of `values`" to append to a column, and its single parameter."""
    if not _is_postgres(connection):
        return "IN (SELECT value FROM json_each(?))", orjson.dumps(list(values)).decode()
    if all(type(value) is int for value in values):  # psycopg's list dumper: ~1 µs per element
        return "= ANY(%s::bigint[])", "{" + ",".join(map(str, values)) + "}"
    return "= ANY(%s::text[])", array_literal(values)


def timestamps(connection: Connection) -> Callable[[datetime], Any]:
    """How a datetime is passed to the driver: as is for psycopg; as SQLAlchemy's text for SQLite."""
    return _as_is if _is_postgres(connection) else _sqlite_timestamp


def _load(connection: Connection, stage: str, table: str, names: str, rows: Sequence[Sequence[Any]]) -> None:
    """Fill the (empty) stage table of `table` with `rows`, creating it on the connection's first batch."""
    shape = f"SELECT {names} FROM {table}"
    if not _is_postgres(connection):
        connection.exec_driver_sql(f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} AS {shape} WHERE 0")
        marks = ", ".join("?" * len(rows[0]))
        connection.exec_driver_sql(f"INSERT INTO {stage} ({names}) VALUES ({marks})", list(rows))
        return
    connection.exec_driver_sql(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS {shape} WITH NO DATA"
    )
    error = connection.dialect.loaded_dbapi.Error
    copy_in = f"COPY {stage} ({names}) FROM STDIN"
    try:
        with connection.connection.cursor() as cursor, cursor.copy(copy_in) as copy:
            for row in rows:
                copy.write_row(row)
    except error as exc:  # raised as SQLAlchemy would: an outage is spooled, anything else is a 5xx
        raise DBAPIError.instance(f"COPY {stage}", None, exc, error) from exc


def _is_postgres(connection: Connection) -> bool:
    return connection.dialect.name == "postgresql"


def _as_is(value: datetime) -> datetime:
    return value


@lru_cache(maxsize=8192)
def _sqlite_timestamp(value: datetime) -> str:
    """Cached: a provider's batch repeats the same few seconds."""
    return value.isoformat(" ", "microseconds")
