"""Segment rules to SQLAlchemy Core: one SELECT per segment, identical on SQLite and PostgreSQL.

All calendar arithmetic happens here, in Python, from the as-of date: "aged 55 or more" becomes
`birth_date <= <a date>`, "reaches the legal retirement age within 6 months" becomes birth-date
ranges. The database only compares dates, so the (status, birth_date) index serves the age rules
and no dialect-specific date function is needed.

Every condition compiles to an expression that is never NULL (a missing value makes a test false),
so `not` means "everyone the condition does not keep" rather than SQL's three-valued surprise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import ColumnElement, DateTime, Select, and_, false, func, literal, not_, or_, select, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from outreach.models import CampaignRun, Complaint, Message, MessageEngagement, Person
from outreach.segments.dates import ONE_DAY, latest_birth_for_age, month_bounds, year_bounds
from outreach.segments.definition import (
    Age,
    AllOf,
    AnyOf,
    Condition,
    Engagement,
    FieldTest,
    InSegment,
    Not,
    OpenComplaint,
    RelativeDate,
    TurnsAge,
)
from outreach.segments.fields import FIELDS, LEGAL_RETIREMENT_DATE, Kind
from outreach.segments.library import SegmentLibrary
from outreach.segments.retirement_ages import LegalAgeTable, legal_age_table
from outreach.vocabulary import STATUSES

PEOPLE = Person.__table__
COMPLAINTS = Complaint.__table__
LIVING_STATUSES = tuple(s for s in STATUSES if s != "deceased")

DateWindow = tuple[date | None, date | None]
"""Inclusive bounds on a date; None leaves that side open."""


@dataclass(frozen=True)
class Context:
    """What a rule is evaluated against: the library (for `segment:`), the as-of date, the legal ages."""

    library: SegmentLibrary
    as_of: date
    ages: LegalAgeTable


def living() -> ColumnElement[bool]:
    """Deceased people are in no segment, whatever the rule says (an IN list keeps the index usable)."""
    return PEOPLE.c.status.in_(LIVING_STATUSES)


def _birth_between(low: date | None, high: date | None) -> ColumnElement[bool]:
    column = PEOPLE.c.birth_date
    if low is not None and high is not None:
        return column.between(low, high)
    if low is not None:
        return column >= low
    if high is not None:
        return column <= high
    return true()


def _not_null(column: ColumnElement, test: ColumnElement[bool]) -> ColumnElement[bool]:
    """`test`, made false rather than NULL when the column may be empty."""
    return and_(column.is_not(None), test) if getattr(column, "nullable", True) else test


def date_window(field: str, window: DateWindow, ages: LegalAgeTable) -> ColumnElement[bool]:
    """The date field (stored, or the computed legal retirement date) falls within `window`."""
    low, high = window
    if low is not None and high is not None and low > high:
        return false()
    if field == LEGAL_RETIREMENT_DATE:
        ranges = ages.birth_ranges(low, high)
        return or_(*(_birth_between(a, b) for a, b in ranges)) if ranges else false()
    column = PEOPLE.c[field]
    bounds = [column >= low] if low is not None else []
    bounds += [column <= high] if high is not None else []
    return _not_null(column, and_(*bounds)) if bounds else column.is_not(None)


def relative_window(condition: RelativeDate, as_of: date) -> DateWindow:
    """The dates a `since` / `until` condition accepts, relative to `as_of`."""
    if condition.direction == "since":
        high = as_of if condition.at_least is None else min(as_of, condition.at_least.before(as_of))
        low = None if condition.at_most is None else condition.at_most.before(as_of)
        return low, high
    low = (
        as_of + ONE_DAY
        if condition.at_least is None
        else max(as_of + ONE_DAY, condition.at_least.after(as_of))
    )
    high = None if condition.at_most is None else condition.at_most.after(as_of)
    return low, high


def age_window(condition: Age, as_of: date) -> DateWindow:
    """Birth dates of people whose age on `as_of` is within the condition's bounds."""
    high = None if condition.at_least is None else latest_birth_for_age(as_of, condition.at_least * 12)
    low = (
        None
        if condition.at_most is None
        else latest_birth_for_age(as_of, (condition.at_most + 1) * 12) + ONE_DAY
    )
    return low, high


def turns_age_window(condition: TurnsAge, as_of: date) -> DateWindow:
    """Birth dates of people whose birthday of that age falls in the as-of month (or year)."""
    start, end = month_bounds(as_of) if condition.during == "month" else year_bounds(as_of)
    months = condition.age * 12
    return latest_birth_for_age(start - ONE_DAY, months) + ONE_DAY, latest_birth_for_age(end, months)


def _flag(column: ColumnElement, flag: str) -> ColumnElement[bool]:
    return (literal(";") + column + literal(";")).like(f"%;{flag};%")


def _field_test(condition: FieldTest, context: Context) -> ColumnElement[bool]:
    field = FIELDS[condition.field]
    operator, value = condition.operator, condition.value
    if field.kind is Kind.DATE:
        if operator == "present":
            known = true() if field.computed else PEOPLE.c[field.name].is_not(None)
            return known if value else not_(known)
        assert isinstance(value, date)
        window: DateWindow = {
            "before": (None, value - ONE_DAY),
            "on_or_before": (None, value),
            "after": (value + ONE_DAY, None),
            "on_or_after": (value, None),
        }[operator]
        return date_window(field.name, window, context.ages)
    column = PEOPLE.c[field.name]
    if operator == "present":
        known = column != "" if field.kind is Kind.FLAGS else _not_null(column, func.length(column) > 0)
        return known if value else not_(known)
    if field.kind is Kind.FLAGS:
        flags = (value,) if isinstance(value, str) else value
        assert isinstance(flags, tuple)
        return or_(*(_flag(column, flag) for flag in flags))
    if operator == "in":
        assert isinstance(value, tuple)
        return _not_null(column, column.in_(value))
    if operator == "starts_with":
        assert isinstance(value, str)
        return _not_null(column, column.startswith(value, autoescape=True))
    return _not_null(column, column == value)


def _open_complaint(as_of: date) -> ColumnElement[bool]:
    """Has a complaint opened on or before `as_of` and not closed by then.

    Written `person_id IN (...)` rather than a correlated EXISTS: SQLite then starts from the few
    complaints and looks people up by key (0.01 s instead of 1.3 s over 300,000 people); PostgreSQL
    plans both as a semi-join. `complaints.person_id` is never NULL, so `not` is safe too.
    """
    return PEOPLE.c.person_id.in_(
        select(COMPLAINTS.c.person_id).where(
            COMPLAINTS.c.opened_on <= as_of,
            or_(COMPLAINTS.c.closed_on.is_(None), COMPLAINTS.c.closed_on > as_of),
        )
    )


class add_days(FunctionElement[datetime]):
    """`timestamp + N days`, the only date arithmetic done in SQL (a reaction within N days of its send)."""

    type = DateTime()
    inherit_cache = True


@compiles(add_days, "sqlite")
def _add_days_sqlite(element: add_days, compiler: Any, **kw: Any) -> str:
    moment, days = list(element.clauses)
    return f"datetime({compiler.process(moment, **kw)}, '+' || {compiler.process(days, **kw)} || ' days')"


@compiles(add_days, "postgresql")
def _add_days_postgresql(element: add_days, compiler: Any, **kw: Any) -> str:
    moment, days = list(element.clauses)
    return f"({compiler.process(moment, **kw)} + make_interval(days => {compiler.process(days, **kw)}))"


REACTIONS = {
    "delivered": MessageEngagement.delivered_at,
    "opened": MessageEngagement.first_open_at,  # human opens only
    "clicked": MessageEngagement.first_click_at,
    "bounced": MessageEngagement.bounced_at,
    "replied": MessageEngagement.replied_at,
    "responded": MessageEngagement.responded_at,
}
"""The engagement fact each `engagement` event reads (filled by the tracking service)."""


def _engagement(condition: Engagement, as_of: date) -> ColumnElement[bool]:
    """Has a message of the campaign (step) sent by the as-of date, with the reaction asked for.

    Written `person_id IN (...)` like open complaints: the messages of one campaign are few next to
    the population. Dry runs never count; reactions after the as-of date do not exist yet.
    """
    end_of_day = datetime.combine(as_of, time()) + ONE_DAY
    query = (
        select(Message.person_id)
        .join(CampaignRun, CampaignRun.id == Message.run_id)
        .where(
            CampaignRun.campaign == condition.campaign,
            CampaignRun.dry_run.is_(False),
            Message.status == "sent",
            Message.sent_at < end_of_day,
        )
    )
    if condition.step is not None:
        query = query.where(Message.step == condition.step)
    if condition.sent_within is not None:
        query = query.where(Message.sent_at >= datetime.combine(condition.sent_within.before(as_of), time()))
    if condition.event != "received":
        reaction = REACTIONS[condition.event]
        query = query.join(MessageEngagement, MessageEngagement.message_id == Message.id).where(
            reaction.is_not(None), reaction < end_of_day
        )
        if condition.within is not None:
            query = query.where(reaction <= add_days(Message.sent_at, condition.within.amount))
    return PEOPLE.c.person_id.in_(query)


def condition_sql(condition: Condition, context: Context) -> ColumnElement[bool]:
    """The SQL boolean expression (never NULL) of `condition`, over the `people` table."""
    match condition:
        case AllOf(conditions=items):
            return and_(*(condition_sql(item, context) for item in items))
        case AnyOf(conditions=items):
            return or_(*(condition_sql(item, context) for item in items))
        case Not(condition=inner):
            return not_(condition_sql(inner, context))
        case FieldTest():
            return _field_test(condition, context)
        case Age():
            return _birth_between(*age_window(condition, context.as_of))
        case TurnsAge():
            return _birth_between(*turns_age_window(condition, context.as_of))
        case RelativeDate():
            return date_window(condition.field, relative_window(condition, context.as_of), context.ages)
        case InSegment(segment=name):
            return condition_sql(context.library.get(name).rule, context)
        case OpenComplaint(expected=expected):
            found = _open_complaint(context.as_of)
            return found if expected else not_(found)
        case Engagement():
            return _engagement(condition, context.as_of)
    raise TypeError(f"no SQL for {condition!r}")  # pragma: no cover - every Condition type is matched above


def context_for(library: SegmentLibrary, as_of: date, ages: LegalAgeTable | None = None) -> Context:
    """The compile context at `as_of`, with the shipped legal-age table unless one is given."""
    return Context(library, as_of, ages or legal_age_table())


def segment_predicate(library: SegmentLibrary, name: str, as_of: date) -> ColumnElement[bool]:
    """The WHERE clause over `people` that keeps the members of segment `name` on `as_of`."""
    rule = condition_sql(library.get(name).rule, context_for(library, as_of))
    return and_(living(), rule)


def segment_query(library: SegmentLibrary, name: str, as_of: date) -> Select:
    """SELECT person_id of the members of segment `name` on `as_of` (one statement, ordered by id)."""
    return (
        select(PEOPLE.c.person_id).where(segment_predicate(library, name, as_of)).order_by(PEOPLE.c.person_id)
    )


def count_query(library: SegmentLibrary, name: str, as_of: date) -> Select:
    """SELECT the number of members of segment `name` on `as_of`."""
    return select(func.count()).select_from(PEOPLE).where(segment_predicate(library, name, as_of))
