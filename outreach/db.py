"""Database engines: SQLite embedded by default, PostgreSQL (psycopg 3) in production.

One function makes engines so both back ends get the same care: SQLite gets WAL and foreign keys
(it ignores them otherwise), PostgreSQL URLs are pointed at psycopg 3 whatever driver the user named.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from outreach.config import database_url

BULK_WRITE_PRAGMAS = ("wal_autocheckpoint=10000", "temp_store=MEMORY")
"""Bulk writes into indexed tables touch pages all over each index: the default checkpoint (every
1,000 WAL pages) copied them into the database file after nearly every commit. Temporary tables
(ingestion's staging) and sorts stay in memory."""

PAGE_CACHE_MB = 8
"""SQLite's page cache per connection, allocated as pages are touched (SQLite's default: 2 MB). A
campaign step's memory must not grow with its size: with 256 MB per connection a 1,000,000-person
step peaked at 461 MB (+301 MB over 10,000 people), with 32 MB at 259 MB (+106 MB), with 8 MB at
209 MB (+56 MB), and 8 MB sent as fast (100,000 e-mails: 4,278/s vs 4,374/s; measured, bench_delivery)."""

SERVICE_PAGE_CACHE_MB = 256
"""The tracking service's page cache per connection: a long-lived process whose every event touches
pages at random places in three indexes (ingestion at 200,000 events: -30 % CPU per event against
the default cache, measured)."""

SERVICE_MEMORY_MAP_MB = 4096
"""How much of the database file the tracking service reads through a memory map. Once the event
tables outgrow the page cache, and whenever another service process has written (which empties a
connection's cache), pages were read back with one system call each: at 1,000,000 events, 74 s of
kernel time; 31 s with the map, and 7,453 events/s instead of 6,834 (measured, bench_tracking)."""


def normalise_url(url: str) -> str:
    """Point `postgresql://` and `postgres://` URLs at the psycopg 3 driver we ship."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() != "psycopg":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(
    url: str | None = None, *, page_cache_mb: int = PAGE_CACHE_MB, memory_map_mb: int = 0
) -> Engine:
    """A new engine for `url` (default: the configured database).

    `page_cache_mb` bounds SQLite's page cache per connection and `memory_map_mb` how much of the
    database file SQLite reads through a memory map (PostgreSQL manages its own memory).
    """
    url = normalise_url(url or database_url())
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)  # embedded: nothing to set up first
        engine = create_engine(url, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA cache_size=-{page_cache_mb * 1024}")
            cursor.execute(f"PRAGMA mmap_size={memory_map_mb * 1024 * 1024}")
            for pragma in BULK_WRITE_PRAGMAS:
                cursor.execute(f"PRAGMA {pragma}")
            cursor.close()

        return engine
    # psycopg prepares a statement after 5 runs and PostgreSQL may then keep a generic plan made when a
    # table was still empty (seen: 10x slower upserts during a large import); plan each execution.
    return create_engine(url, pool_pre_ping=True, connect_args={"prepare_threshold": None})


@cache
def default_engine() -> Engine:
    """The process-wide engine for the configured database."""
    return make_engine()


def is_postgres(engine: Engine) -> bool:
    """Whether `engine` talks to PostgreSQL (some bulk paths use COPY there)."""
    return engine.dialect.name == "postgresql"


def advisory_lock(connection: Connection, name: str) -> None:
    """Serialise work on `name` across processes until the transaction ends (PostgreSQL).

    SQLite needs nothing: it admits one writer at a time, and the second waits for the first.
    """
    if connection.dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


@contextmanager
def throwaway_postgres_database(server_url: str, prefix: str = "outreach_scratch") -> Iterator[str]:
    """A new, empty database on the server of `server_url`, dropped on exit; yields its URL.

    Tests and benchmarks measure on a fresh database each time, never on one someone uses.
    """
    admin = make_engine(server_url).execution_options(isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield normalise_url(server_url).rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
