"""The data model: what the fund knows about people, as SQLAlchemy 2 ORM classes.

`people` is deliberately one wide table: segments filter a million rows on these columns in one SQL
statement, and a join per attribute would cost more than it saves. Lists that grow by events (opt-outs,
complaints) get their own tables so their history and source are kept.

Later capabilities add their tables (segment membership, campaigns, messages, events) in their own
modules and migrations.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from outreach.vocabulary import CHANNELS, DIGITAL_PROFILES, OPT_OUT_SOURCES, STATUSES, WORKER_TYPES

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a naming convention, so migrations name constraints the same everywhere."""

    metadata = MetaData(naming_convention=NAMING)


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


class Person(Base):
    """An insured person, as the fund's extract describes them (one row per `person_id`)."""

    __tablename__ = "people"

    person_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    civility: Mapped[str | None] = mapped_column(String(8))
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    worker_type: Mapped[str | None] = mapped_column(String(16))
    email: Mapped[str | None] = mapped_column(String(254))
    mobile_phone: Mapped[str | None] = mapped_column(String(16))
    address_complement: Mapped[str | None] = mapped_column(String(100))
    address_building: Mapped[str | None] = mapped_column(String(100))
    address_street: Mapped[str | None] = mapped_column(String(100))
    address_locality: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    city: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str | None] = mapped_column(String(60))
    retirement_date: Mapped[date | None] = mapped_column(Date)
    spouse_death_date: Mapped[date | None] = mapped_column(Date)
    receives_survivor_pension: Mapped[bool] = mapped_column(Boolean, default=False)
    digital_profile: Mapped[str | None] = mapped_column(String(16))
    fragility_flags: Mapped[str] = mapped_column(
        String(120),
        default="",
        doc="Sorted, ';'-separated flags; '' when none (never NULL, so SQL stays simple).",
    )
    preferred_channel: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.current_timestamp())
    updated_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.current_timestamp())

    __table_args__ = (
        CheckConstraint(_in("status", STATUSES), name="status"),
        CheckConstraint(f"worker_type IS NULL OR {_in('worker_type', WORKER_TYPES)}", name="worker_type"),
        CheckConstraint(
            f"digital_profile IS NULL OR {_in('digital_profile', DIGITAL_PROFILES)}", name="digital_profile"
        ),
        CheckConstraint(
            f"preferred_channel IS NULL OR {_in('preferred_channel', CHANNELS)}", name="preferred_channel"
        ),
        Index("ix_people_status_birth_date", "status", "birth_date"),
        Index("ix_people_spouse_death_date", "spouse_death_date"),
        Index("ix_people_retirement_date", "retirement_date"),
    )


class OptOut(Base):
    """A person's "no" for one channel (or for sharing with partners). Opt-outs always win.

    Import only ever adds opt-outs: removing one is a deliberate act, never a side effect of a file.
    """

    __tablename__ = "opt_outs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.person_id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.current_timestamp())

    __table_args__ = (
        UniqueConstraint("person_id", "channel", name="uq_opt_outs_person_channel"),
        CheckConstraint(_in("channel", (*CHANNELS, "partner_sharing", "all")), name="channel"),
        CheckConstraint(_in("source", OPT_OUT_SOURCES), name="source"),
    )


class Complaint(Base):
    """A complaint (réclamation); open while `closed_on` is empty."""

    __tablename__ = "complaints"

    complaint_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.person_id", ondelete="CASCADE"), index=True)
    opened_on: Mapped[date] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    subject: Mapped[str] = mapped_column(String(40))
    received_by: Mapped[str | None] = mapped_column(String(16))


class ImportRun(Base):
    """One population import: what file, when, and what became of its rows."""

    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    imported: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    warnings: Mapped[int] = mapped_column(Integer, default=0)
    rejects_report: Mapped[str | None] = mapped_column(Text)
