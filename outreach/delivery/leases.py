"""Who still holds a claim: a lease that dies with the worker holding it, recognisable at once.

A worker that claims messages (`sending`) holds a lease for as long as its `send` call runs; the
lease's id is written in `messages.claimed_by`. When the call ends — normally, on an error, or because
the process was killed — the lease is gone, and another worker may settle what it left behind
without waiting for a timeout. The database or the operating system releases the lease, never the
worker's own good behaviour:

- PostgreSQL: a session advisory lock held on a connection of the lease's own; it dies with that
  session (a killed process closes its sockets, the server ends the session);
- SQLite (one machine by nature): an exclusive `flock` on a file beside the database, released by
  the kernel when the process dies.

A claim whose lease is not held, or whose claimer is not a lease at all (rows written before leases
existed), belongs to nobody.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url

LOCK_SPACE = 0x0E0C1A55
"""The first key of every lease's advisory lock (PostgreSQL), so leases never meet other locks."""

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(frozen=True)
class Lease:
    """A held lease: its id is what the worker writes in `claimed_by`."""

    id: str


def new_lease_id(label: str) -> str:
    """A unique id that says who holds it (`label`, the process) and fits `claimed_by` (64)."""
    return f"{_UNSAFE.sub('-', label)[:36]}.{os.getpid()}.{secrets.token_hex(6)}"


def _key(lease_id: str) -> int:
    """The second key of a lease's advisory lock: a non-negative 31-bit hash of its id.

    Two live leases sharing a key would only make a dead one look alive (its claims wait for the
    other lease to end): the safe side.
    """
    return int.from_bytes(hashlib.sha256(lease_id.encode()).digest()[:4], "big") & 0x7FFFFFFF


def _folder(engine: Engine) -> Path:
    """Where an SQLite database's lease files live: beside the database file."""
    database = make_url(engine.url).database
    if not database or database == ":memory:":
        raise ValueError("leases need a database file (an in-memory SQLite database has no other worker)")
    path = Path(database)
    return path.with_name(f"{path.name}-leases")


@contextlib.contextmanager
def hold(engine: Engine, label: str) -> Iterator[Lease]:
    """Hold a new lease until the block ends (or the process dies)."""
    lease = Lease(new_lease_id(label))
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            session = connection.execution_options(isolation_level="AUTOCOMMIT")
            session.execute(
                text("SELECT pg_advisory_lock(:space, :key)"), {"space": LOCK_SPACE, "key": _key(lease.id)}
            )
            try:
                yield lease
            finally:
                with contextlib.suppress(Exception):  # a broken session has released it already
                    session.execute(
                        text("SELECT pg_advisory_unlock(:space, :key)"),
                        {"space": LOCK_SPACE, "key": _key(lease.id)},
                    )
        return
    folder = _folder(engine)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{lease.id}.lock"
    descriptor = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield lease
    finally:
        path.unlink(missing_ok=True)  # before the lock goes: a checker then finds no file, not a free lock
        os.close(descriptor)


def held(connection: Connection, lease_ids: Iterable[str | None]) -> set[str]:
    """Which of `lease_ids` are held right now (by a live worker, in any process)."""
    wanted = {lease_id for lease_id in lease_ids if lease_id}
    if not wanted:
        return set()
    if connection.dialect.name == "postgresql":
        keys = set(
            connection.scalars(
                text(
                    "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND classid = :space AND objsubid = 2"
                    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                ),
                {"space": LOCK_SPACE},
            )
        )
        return {lease_id for lease_id in wanted if _key(lease_id) in keys}
    folder = _folder(connection.engine)
    return {lease_id for lease_id in wanted if _file_locked(folder / f"{lease_id}.lock")}


def _file_locked(path: Path) -> bool:
    """Whether a live process holds the lock on `path`; a lease file left by a dead one is removed."""
    try:
        descriptor = os.open(path, os.O_RDWR)
    except (FileNotFoundError, IsADirectoryError):
        return False
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        path.unlink(missing_ok=True)  # its holder is gone: tidy up
        return False
    finally:
        os.close(descriptor)
