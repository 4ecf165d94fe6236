"""Schema migrations with Alembic, driven from Python so `outreach db upgrade` works on any URL.

The migration scripts ship inside the package (`outreach/migrations`), so an installed `outreach`
can create or upgrade a database without the source tree.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from outreach.errors import DatabaseError

MIGRATIONS = Path(__file__).with_name("migrations")


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = "head") -> str:
    """Create or migrate the database to `revision`; returns the revision it is now at."""
    config = _config()
    try:
        with engine.begin() as connection:
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
    with engine.begin() as connection:
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
