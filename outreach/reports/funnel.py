"""The funnel: from the audience of a step to what people did, counted by the database.

Definitions (one message = one person at one step of one wave):
targeted every message row (the whole audience of the step, contacted or not); excluded / deferred /
holdout by status; pending still planned, queued, sending or ambiguous (in doubt after a timeout or a
crash: the next run settles it as sent or queued); sent accepted by the provider (letters: handed to
the printer); failed refused for good; delivered, opened (human opens only), clicked,
bounced, opted out (unsubscribed) from the folded engagement facts; responded = replied or answered a
letter. Nobody reports a letter's delivery: a letter counts as delivered once handed to the printer
and while La Poste has not returned it (a returned letter is a bounce, and its message `failed`).
Breakdowns use the same measures, grouped by journey, wording variant (fragile or standard), A/B arm,
age band on the wave's date, and segment membership on the wave's date (a person in two segments
counts in both). Waves purged by retention count from their kept aggregates (all of the
above but the segment breakdown, which needs the people).
"""

from __future__ import annotations

from datetime import date
from itertools import pairwise

from sqlalchemy import ColumnElement, Connection, Select, and_, case, func, or_, select, text

from outreach.exports.columns import AGE_BANDS
from outreach.models import CampaignRun, Message, MessageEngagement, Person, SegmentMembership
from outreach.reports import aggregated
from outreach.reports.model import FUNNEL_MEASURES, NONE, FunnelRow, ReasonCount
from outreach.reports.scope import ReportScope
from outreach.segments.dates import latest_birth_for_age

MESSAGES = Message.__table__
ENGAGEMENT = MessageEngagement.__table__
RUNS = CampaignRun.__table__
PEOPLE = Person.__table__
MEMBERSHIPS = SegmentMembership.__table__


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def delivered() -> ColumnElement[bool]:
    """A message reached its person: a delivery event, or a letter handed over and not returned."""
    return or_(
        ENGAGEMENT.c.delivered_at.is_not(None),
        and_(MESSAGES.c.channel == "letter", MESSAGES.c.status == "sent"),
    )


def measures() -> list[ColumnElement[int]]:
    """The funnel's aggregate columns, labelled with `FUNNEL_MEASURES`, over messages ⟕ engagement."""
    status, e = MESSAGES.c.status, ENGAGEMENT.c
    columns = [
        func.count().label("targeted"),
        _count_if(status == "excluded").label("excluded"),
        _count_if(status == "deferred").label("deferred"),
        _count_if(status == "holdout").label("holdout"),
        _count_if(status.in_(("planned", "queued", "sending", "ambiguous"))).label("pending"),
        _count_if(status == "sent").label("sent"),
        _count_if(status == "failed").label("failed"),
        _count_if(delivered()).label("delivered"),
        func.count(e.first_open_at).label("opened"),
        func.count(e.first_click_at).label("clicked"),
        _count_if(or_(e.replied_at.is_not(None), e.responded_at.is_not(None))).label("responded"),
        func.count(e.bounce).label("bounced"),
        func.count(e.unsubscribed_at).label("opted_out"),
    ]
    assert tuple(c.name for c in columns) == FUNNEL_MEASURES
    return columns


CUBE_DIMENSIONS = ("channel", "journey", "variant", "arm", "age_band")
"""What the funnel is split by in one GROUP BY per wave, rolled up afterwards."""
Cube = list[tuple[str, tuple[str, ...], dict[str, int]]]


def _base(scope: ReportScope, *groups: ColumnElement[str]) -> Select:
    labelled = [func.coalesce(group, NONE).label(f"g{index}") for index, group in enumerate(groups)]
    return (
        select(MESSAGES.c.step, *labelled, *measures())
        .select_from(MESSAGES.outerjoin(ENGAGEMENT, ENGAGEMENT.c.message_id == MESSAGES.c.id))
        .where(MESSAGES.c.run_id.in_(scope.run_ids))
        .group_by(MESSAGES.c.step, *(text(f"g{index}") for index in range(len(groups))))
    )


def _cube(connection: Connection, query: Select, dimensions: int) -> Cube:
    return [
        (row.step, tuple(row[1 : 1 + dimensions]), {m: int(getattr(row, m)) for m in FUNNEL_MEASURES})
        for row in connection.execute(query)
    ]


def _roll_up(scope: ReportScope, cube: Cube, index: int) -> tuple[FunnelRow, ...]:
    """Sum the cube's counts by step and its `index`-th dimension (hundreds of rows, never messages)."""
    sums: dict[tuple[str, str], dict[str, int]] = {}
    for step, values, counts in cube:
        total = sums.setdefault((step, values[index]), dict.fromkeys(FUNNEL_MEASURES, 0))
        for measure, count in counts.items():
            total[measure] += count
    order = scope.step_order
    rows = [FunnelRow(step, group, counts) for (step, group), counts in sums.items()]
    return tuple(sorted(rows, key=lambda r: (order.get(r.step, len(order)), r.group)))


def age_band(as_of: date) -> ColumnElement[str]:
    """The age band on `as_of` as a CASE over birth dates: plain date comparisons, no per-row arithmetic."""
    whens = [
        (PEOPLE.c.birth_date > latest_birth_for_age(as_of, upper * 12), label)
        for (_, label), (upper, _) in pairwise(AGE_BANDS)
    ]
    return case(*whens, else_=AGE_BANDS[-1][1])


def funnel_and_breakdowns(
    connection: Connection, scope: ReportScope
) -> tuple[tuple[FunnelRow, ...], dict[str, tuple[FunnelRow, ...]]]:
    """The funnel per step and channel ('—' where no channel was chosen), and per journey, wording
    variant, A/B arm and age band on the wave's date.

    One scan per wave, grouped by step and all five dimensions (age bands are compared with dates
    computed for that wave), plus the kept aggregates of purged waves, which have the same five
    dimensions; the result, a few hundred rows, is rolled up per dimension.
    """
    cube: Cube = aggregated.cube(connection, scope.purged_run_ids, CUBE_DIMENSIONS)
    for run in scope.live_runs:
        groups = [*(MESSAGES.c[name] for name in CUBE_DIMENSIONS[:-1]), age_band(run.as_of)]
        query = (
            _base(scope, *groups)
            .join(PEOPLE, PEOPLE.c.person_id == MESSAGES.c.person_id)
            .where(MESSAGES.c.run_id == run.id)
        )
        cube += _cube(connection, query, len(CUBE_DIMENSIONS))
    rolled = {name: _roll_up(scope, cube, index) for index, name in enumerate(CUBE_DIMENSIONS)}
    return rolled.pop("channel"), rolled


def segment_breakdown(connection: Connection, scope: ReportScope) -> tuple[FunnelRow, ...]:
    """The funnel per step and segment the person belonged to on the wave's date (overlaps count twice)."""
    member_then = and_(
        MEMBERSHIPS.c.person_id == MESSAGES.c.person_id,
        MEMBERSHIPS.c.entered_on <= RUNS.c.as_of,
        or_(MEMBERSHIPS.c.left_on.is_(None), MEMBERSHIPS.c.left_on > RUNS.c.as_of),
    )
    query = (
        _base(scope, MEMBERSHIPS.c.segment)
        .join(RUNS, RUNS.c.id == MESSAGES.c.run_id)
        .join(MEMBERSHIPS, member_then)
    )
    return _roll_up(scope, _cube(connection, query, 1), 0)


def reasons(connection: Connection, scope: ReportScope) -> tuple[ReasonCount, ...]:
    """Who was not contacted at each step, and why (excluded and deferred, by reason), purged waves
    included."""
    query = (
        select(
            MESSAGES.c.step,
            MESSAGES.c.status,
            func.coalesce(MESSAGES.c.reason, NONE).label("why"),
            func.count(),
        )
        .where(MESSAGES.c.run_id.in_(scope.run_ids), MESSAGES.c.status.in_(("excluded", "deferred")))
        .group_by(MESSAGES.c.step, MESSAGES.c.status, text("why"))
    )
    order = scope.step_order
    rows = [
        ReasonCount(step, status, reason, count) for step, status, reason, count in connection.execute(query)
    ]
    rows = aggregated.merge_reasons(rows + aggregated.reasons(connection, scope.purged_run_ids))
    return tuple(sorted(rows, key=lambda r: (order.get(r.step, len(order)), -r.count, r.reason)))
