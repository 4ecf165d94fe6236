"""Membership history: each refresh records, with two set-based statements, who entered and who left.

A refresh at date D closes the open stays of people no longer in the segment (UPDATE ... WHERE NOT
EXISTS) and opens one for each new member (INSERT ... SELECT ... WHERE NOT EXISTS). The population
never travels to Python; memory does not depend on its size. Refreshes of a segment go forward in
time: history cannot be rewritten by refreshing an earlier date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import (
    Connection,
    Insert,
    Row,
    Select,
    Update,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)

from outreach.errors import ConfigurationError
from outreach.models import SegmentMembership, SegmentRefresh
from outreach.segments.compiler import PEOPLE, segment_predicate
from outreach.segments.library import SegmentLibrary

MEMBERSHIPS = SegmentMembership.__table__
REFRESHES = SegmentRefresh.__table__
STALE_STATISTICS = 1000
"""Rows entered + left by one refresh after which PostgreSQL re-reads the history table's statistics."""


class HistoryError(ConfigurationError):
    """A refresh or a history question the recorded history cannot answer."""


@dataclass(frozen=True)
class RefreshResult:
    """What one refresh found: members now, and how many entered and left since the previous refresh."""

    refresh_id: int
    segment: str
    as_of: date
    members: int
    entered: int
    left: int


def last_refresh(connection: Connection, segment: str, on_or_before: date | None = None) -> Row | None:
    """The latest refresh of `segment` (optionally the latest with an as-of date on or before a day)."""
    query = select(REFRESHES).where(REFRESHES.c.segment == segment)
    if on_or_before is not None:
        query = query.where(REFRESHES.c.as_of <= on_or_before)
    return connection.execute(
        query.order_by(REFRESHES.c.as_of.desc(), REFRESHES.c.id.desc()).limit(1)
    ).first()


def refresh_statements(
    library: SegmentLibrary, name: str, as_of: date, refresh_id: int
) -> tuple[Update, Insert]:
    """The (close-leavers UPDATE, open-newcomers INSERT) statements of one refresh."""
    predicate = segment_predicate(library, name, as_of)
    still_member = exists(
        select(literal(1)).select_from(PEOPLE).where(PEOPLE.c.person_id == MEMBERSHIPS.c.person_id, predicate)
    )
    close = (
        update(MEMBERSHIPS)
        .where(MEMBERSHIPS.c.segment == name, MEMBERSHIPS.c.left_on.is_(None), ~still_member)
        .values(left_on=as_of, left_refresh_id=refresh_id)
    )
    already_member = exists(
        select(literal(1))
        .select_from(MEMBERSHIPS)
        .where(
            MEMBERSHIPS.c.segment == name,
            MEMBERSHIPS.c.person_id == PEOPLE.c.person_id,
            MEMBERSHIPS.c.left_on.is_(None),
        )
    )
    newcomers = select(literal(name), PEOPLE.c.person_id, literal(as_of), literal(refresh_id)).where(
        predicate, ~already_member
    )
    # preserve_rowcount: psycopg reports -1 for INSERT ... SELECT unless SQLAlchemy keeps the count.
    open_ = (
        insert(MEMBERSHIPS)
        .from_select(["segment", "person_id", "entered_on", "entered_refresh_id"], newcomers)
        .execution_options(preserve_rowcount=True)
    )
    return close, open_


def refresh(connection: Connection, library: SegmentLibrary, name: str, as_of: date) -> RefreshResult:
    """Evaluate segment `name` at `as_of`; record who entered and who left, in the caller's transaction."""
    previous = last_refresh(connection, name)
    if previous is not None and as_of < previous.as_of:
        raise HistoryError(
            f"segment {name!r} was already refreshed as of {previous.as_of}; "
            "refresh as of that date or later (history only moves forward)"
        )
    refresh_id = connection.execute(
        insert(REFRESHES)
        .values(segment=name, version=library.version(name), as_of=as_of, members=0, entered=0, left=0)
        .returning(REFRESHES.c.id)
    ).scalar_one()
    close, open_ = refresh_statements(library, name, as_of, refresh_id)
    left = connection.execute(close).rowcount
    entered = connection.execute(open_).rowcount
    if connection.dialect.name == "postgresql" and left + entered >= STALE_STATISTICS:
        # PostgreSQL plans the next refresh's anti-joins from table statistics; stale ones after a big
        # change estimate one row and pick a quadratic nested loop. ANALYZE samples a fixed number of rows.
        connection.execute(text(f"ANALYZE {MEMBERSHIPS.name}"))
    members = open_member_count(connection, name)  # counted, not derived: erasing a person drops their stays
    connection.execute(
        update(REFRESHES)
        .where(REFRESHES.c.id == refresh_id)
        .values(members=members, entered=entered, left=left)
    )
    return RefreshResult(refresh_id, name, as_of, members, entered, left)


def members_on(connection: Connection, segment: str, day: date) -> Select:
    """SELECT person_id of the recorded members of `segment` on `day` (as of the latest refresh by then)."""
    if last_refresh(connection, segment, on_or_before=day) is None:
        raise HistoryError(
            f"segment {segment!r} has no refresh on or before {day}; "
            f"run `outreach segments refresh {segment} --as-of {day}` first, or ask about a later date"
        )
    return (
        select(MEMBERSHIPS.c.person_id)
        .where(
            MEMBERSHIPS.c.segment == segment,
            MEMBERSHIPS.c.entered_on <= day,
            or_(MEMBERSHIPS.c.left_on.is_(None), MEMBERSHIPS.c.left_on > day),
        )
        .order_by(MEMBERSHIPS.c.person_id)
    )


def new_members(connection: Connection, segment: str) -> Select:
    """SELECT person_id of the people who entered `segment` at its latest refresh ("new members only")."""
    latest = last_refresh(connection, segment)
    if latest is None:
        raise HistoryError(
            f"segment {segment!r} was never refreshed; run `outreach segments refresh {segment}`"
        )
    return (
        select(MEMBERSHIPS.c.person_id)
        .where(
            MEMBERSHIPS.c.segment == segment,
            MEMBERSHIPS.c.left_on.is_(None),  # newcomers are open stays: the partial index serves this
            MEMBERSHIPS.c.entered_refresh_id == latest.id,
        )
        .order_by(MEMBERSHIPS.c.person_id)
    )


def open_member_count(connection: Connection, segment: str) -> int:
    """How many people the history currently holds as members of `segment`."""
    return connection.execute(
        select(func.count())
        .select_from(MEMBERSHIPS)
        .where(MEMBERSHIPS.c.segment == segment, MEMBERSHIPS.c.left_on.is_(None))
    ).scalar_one()
