"""Migrations create and upgrade both SQLite and PostgreSQL, and match the ORM models."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, MetaData, Table, delete, func, insert, inspect, select

from outreach import migrate
from outreach.db import make_engine
from outreach.errors import DatabaseError
from outreach.models import Base, CampaignRun, DeliveryEvent, Message, MessageEngagement
from tests.people import load, person

SENT_AT = datetime(2026, 11, 26, 9, 30)


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


def _send(engine: Engine, person_id: str) -> int:
    """A message sent to `person_id` with its delivery event and engagement row; returns its id."""
    with engine.begin() as connection:
        run = connection.scalar(
            insert(CampaignRun)
            .values(campaign="prepare_retirement", wave=f"2026-11-{person_id}", as_of=date(2026, 11, 26))
            .returning(CampaignRun.id)
        )
        message = connection.scalar(
            insert(Message)
            .values(run_id=run, step="invitation", person_id=person_id, journey="prepare_retirement")
            .returning(Message.id)
        )
        connection.execute(
            insert(DeliveryEvent).values(
                provider="sendgrid", provider_event_id=f"evt-{message}", message_id=message,
                event="delivered", occurred_at=SENT_AT, received_at=SENT_AT, raw="{}",
            )
        )  # fmt: skip
        connection.execute(insert(MessageEngagement).values(message_id=message, updated_at=SENT_AT))
    return message


def _erase_message(engine: Engine, message_id: int) -> None:
    """What an erasure or a purge does to a message row (its events and engagement go with it)."""
    with engine.begin() as connection:
        connection.execute(delete(Message).where(Message.id == message_id))


def _counts(connection: Connection) -> tuple[int, ...]:
    tables = (Message, DeliveryEvent, MessageEngagement)
    return tuple(connection.scalar(select(func.count()).select_from(t)) for t in tables)


def test_the_id_of_a_deleted_message_is_never_given_to_another(engine: Engine) -> None:
    """Signed links (unsubscribe, click, pixel, survey) carry the message id: one of an erased person's
    message must never act on someone else's."""
    load(engine, [person(i, date(1964, 5, 2)) for i in range(3)])
    _send(engine, "P00000")
    newest = _send(engine, "P00001")
    _erase_message(engine, newest)
    assert _send(engine, "P00002") > newest


def test_upgrading_from_the_previous_revision_keeps_every_row_and_never_reuses_an_id(
    empty_engine: Engine,
) -> None:
    migrate.upgrade(empty_engine, "0008")
    # people as they were at 0008 (later revisions add columns the import fills, such as
    # legal_representative in 0013)
    people_then = Table("people", MetaData(), autoload_with=empty_engine)
    with empty_engine.begin() as connection:
        rows_then = [person(i, date(1964, 5, 2)) for i in range(3)]
        connection.execute(
            insert(people_then), [{k: v for k, v in row.items() if k in people_then.c} for row in rows_then]
        )
    first, newest = _send(empty_engine, "P00000"), _send(empty_engine, "P00001")
    # the columns messages had at 0008 (later revisions may add some)
    then = Table("messages", MetaData(), autoload_with=empty_engine)
    rows = select(*(Message.__table__.c[c.name] for c in then.c)).order_by(Message.id)
    with empty_engine.connect() as connection:
        before = connection.execute(rows).all()

    assert migrate.upgrade(empty_engine) == migrate.head_revision()

    with empty_engine.connect() as connection:
        assert connection.execute(rows).all() == before
        assert _counts(connection) == (2, 2, 2)  # the rebuild cascaded nothing away
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    indexes = {index["name"] for index in inspect(empty_engine).get_indexes("messages")}
    assert indexes >= {"ix_messages_run_step_id", "ix_messages_person_sent_at", "ix_messages_provider_id"}
    _erase_message(empty_engine, newest)
    assert _send(empty_engine, "P00002") > newest > first
