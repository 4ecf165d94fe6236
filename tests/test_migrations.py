"""Migrations create and upgrade both SQLite and PostgreSQL, and match the ORM models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from outreach import migrate
from outreach.db import make_engine
from outreach.errors import DatabaseError
from outreach.models import Base


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_engine(request: pytest.FixtureRequest) -> Engine:
    return make_engine(request.getfixturevalue(f"{request.param}_url"))


def test_upgrade_creates_every_table_and_is_repeatable(empty_engine: Engine) -> None:
    assert migrate.current_revision(empty_engine) is None
    assert migrate.upgrade(empty_engine) == migrate.head_revision()
    assert migrate.upgrade(empty_engine) == migrate.head_revision()
    tables = set(inspect(empty_engine).get_table_names())
    assert set(Base.metadata.tables) <= tables


def test_the_migrations_match_the_models(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_downgrade_to_nothing_and_back(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    migrate.downgrade(empty_engine, "base")
    assert not set(Base.metadata.tables) & set(inspect(empty_engine).get_table_names())
    assert migrate.upgrade(empty_engine) == migrate.head_revision()


def test_an_empty_database_is_refused_with_the_fix(sqlite_url: str) -> None:
    with pytest.raises(DatabaseError, match="run `outreach db upgrade` first"):
        migrate.require_current(make_engine(sqlite_url))


def test_an_unreachable_server_names_the_setting_to_check() -> None:
    engine = make_engine("postgresql://nobody@127.0.0.1:1/outreach")
    with pytest.raises(DatabaseError, match="Check OUTREACH_DATABASE_URL"):
        migrate.upgrade(engine)


def test_an_embedded_database_in_a_folder_not_made_yet_is_created(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'var' / 'demo' / 'outreach.sqlite3'}")
    assert migrate.upgrade(engine) == migrate.head_revision()
