"""The counts a purge must not lose: an old wave's funnel, without a single person in it.

Before retention deletes a wave's messages (and, by cascade, their events and engagement facts), its
messages are counted into `message_aggregates`, grouped by every dimension the reports split by
(step, journey, channel, wording variant, A/B arm, age band on the wave's date, status, reason) and
with the same measures as `outreach.reports.funnel` (human opens only; responded = replied or
answered a letter), plus the billed SMS parts the cost report counts. `outreach.reports.aggregated`
reads them back, so a report of a purged wave still has its funnel, reasons and costs.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Connection, case, func, insert, literal, or_, select, text

from outreach.models import Message, MessageAggregate, MessageEngagement, Person
from outreach.reports.funnel import age_band, delivered

MESSAGES = Message.__table__
ENGAGEMENT = MessageEngagement.__table__
PEOPLE = Person.__table__
AGGREGATES = MessageAggregate.__table__
DIMENSIONS = ("step", "journey", "channel", "variant", "arm", "status", "reason")


def aggregate_run(connection: Connection, run_id: int, as_of: date, now: datetime) -> int:
    """Count run `run_id`'s messages into `message_aggregates` (one INSERT ... SELECT); returns rows added."""
    e = ENGAGEMENT.c
    responded = or_(e.replied_at.is_not(None), e.responded_at.is_not(None))
    counted = select(
        MESSAGES.c.run_id,
        *(MESSAGES.c[name] for name in DIMENSIONS),
        age_band(as_of).label("age_band"),
        func.count().label("messages"),
        func.coalesce(func.sum(case((delivered(), 1), else_=0)), 0).label("delivered"),
        func.count(e.first_open_at).label("opened"),
        func.count(e.first_click_at).label("clicked"),
        func.coalesce(func.sum(case((responded, 1), else_=0)), 0).label("responded"),
        func.count(e.bounce).label("bounced"),
        func.count(e.unsubscribed_at).label("opted_out"),
        func.coalesce(func.sum(func.coalesce(MESSAGES.c.sms_segments, 1)), 0).label("sms_segments"),
        literal(now).label("aggregated_at"),
    )
    query = (
        counted.select_from(
            MESSAGES.outerjoin(ENGAGEMENT, e.message_id == MESSAGES.c.id).join(
                PEOPLE, PEOPLE.c.person_id == MESSAGES.c.person_id
            )
        )
        .where(MESSAGES.c.run_id == run_id)
        .group_by(MESSAGES.c.run_id, *(MESSAGES.c[name] for name in DIMENSIONS), text("age_band"))
    )
    columns = [c.name for c in counted.selected_columns]
    return connection.execute(insert(AGGREGATES).from_select(columns, query)).rowcount
