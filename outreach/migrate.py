"""Schema migrations with Alembic, driven from Python so `outreach db upgrade` works on any URL.

The migration scripts ship inside the package (`outreach/migrations`), so an installed `outreach`
can create or upgrade a database without the source tree.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from outreach.errors import DatabaseError

MIGRATIONS = Path(__file__).with_name("migrations")


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@contextmanager
def _migrating(engine: Engine) -> Iterator[Connection]:
    """A connection in one transaction for migrations; on SQLite, with foreign keys off meanwhile.

    SQLite alters a table by rebuilding it (alembic's batch mode: copy, drop, rename), and with
    foreign keys on, dropping the old copy deletes every row that references it (ON DELETE CASCADE):
    rebuilding `messages` would empty the event tables. SQLite's own procedure for this is followed:
    foreign keys off (only possible outside a transaction), migrate, check every reference still
    holds before committing, foreign keys on again.
    """
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                yield connection
                if sqlite and (broken := connection.exec_driver_sql("PRAGMA foreign_key_check").all()):
                    raise DatabaseError(
                        f"a migration left {len(broken)} broken reference(s); nothing changed"
                    )
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def upgrade(engine: Engine, revision: str = "head") -> str:
    """Create or migrate the database to `revision`; returns the revision it is now at."""
    config = _config()
    try:
        with _migrating(engine) as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    except OperationalError as exc:
        raise DatabaseError(
            f"cannot reach the database {engine.url.render_as_string(hide_password=True)}: "
            f"{exc.orig}. Check OUTREACH_DATABASE_URL and that the server is running."
        ) from exc
    return current_revision(engine) or "base"


def downgrade(engine: Engine, revision: str) -> None:
    """Migrate the database back to `revision` ("base" removes every table the tool created)."""
    config = _config()
    with _migrating(engine) as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest revision the code knows."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def require_current(engine: Engine) -> None:
    """Fail with a clear fix when the database is missing tables the code needs."""
    current = current_revision(engine)
    if current != head_revision():
        raise DatabaseError(
            f"the database is at revision {current or 'none (empty)'}, the code needs {head_revision()}: "
            "run `outreach db upgrade` first."
        )
