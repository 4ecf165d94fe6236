"""The figures of purged waves, read back from the counts retention kept (`message_aggregates`).

A purge deletes an old wave's messages but first counts them by step, journey, channel, wording
variant, A/B arm, age band, status and reason (`outreach.privacy.aggregates`). Those counts are enough
for the funnel, its breakdowns (except by segment), the reasons for not contacting and the costs, so
a report of an old campaign still shows them; what needs one row per person (segment membership,
delivery times, engagement per day, satisfaction answers, holdout uplift and A/B tests) is gone, and
the report says so rather than showing a smaller figure as if it were whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, select

from outreach.models import MessageAggregate
from outreach.reports.model import FUNNEL_MEASURES, NONE, ReasonCount

AGGREGATES = MessageAggregate.__table__
STATUS_MEASURE = {"planned": "pending", "queued": "pending", "sending": "pending", "ambiguous": "pending"}
"""Message statuses the funnel counts under another name (the others are measures themselves)."""
ENGAGEMENT_MEASURES = ("delivered", "opened", "clicked", "responded", "bounced", "opted_out")


def purged_run_ids(connection: Connection, run_ids: list[int]) -> set[int]:
    """Which of `run_ids` were purged: their messages are gone and only their counts remain."""
    if not run_ids:
        return set()
    query = select(AGGREGATES.c.run_id).where(AGGREGATES.c.run_id.in_(run_ids)).distinct()
    return set(connection.scalars(query))


def _rows(connection: Connection, run_ids: list[int]) -> Iterator[Any]:
    if run_ids:
        yield from connection.execute(select(AGGREGATES).where(AGGREGATES.c.run_id.in_(run_ids)))


def funnel_counts(row: Any) -> dict[str, int]:
    """One aggregate row as the funnel's measures (`FUNNEL_MEASURES`)."""
    counts = dict.fromkeys(FUNNEL_MEASURES, 0)
    counts["targeted"] = row.messages
    counts[STATUS_MEASURE.get(row.status, row.status)] += row.messages
    for measure in ENGAGEMENT_MEASURES:
        counts[measure] = getattr(row, measure)
    return counts


def cube(
    connection: Connection, run_ids: list[int], dimensions: tuple[str, ...]
) -> list[tuple[str, tuple[str, ...], dict[str, int]]]:
    """The purged runs' funnel cube in `funnel.funnel_and_breakdowns`' shape: (step, the values of
    `dimensions`, counts) per aggregate row."""
    return [
        (row.step, tuple(getattr(row, name) or NONE for name in dimensions), funnel_counts(row))
        for row in _rows(connection, run_ids)
    ]


def reasons(connection: Connection, run_ids: list[int]) -> list[ReasonCount]:
    """Excluded and deferred people of the purged runs, by step and reason."""
    return [
        ReasonCount(row.step, row.status, row.reason or NONE, row.messages)
        for row in _rows(connection, run_ids)
        if row.status in ("excluded", "deferred")
    ]


def sent(connection: Connection, run_ids: list[int]) -> list[tuple[str, int, int]]:
    """(channel, sent messages, SMS segments) per aggregate row of the purged runs: what costs count."""
    return [
        (row.channel, row.messages, row.sms_segments)
        for row in _rows(connection, run_ids)
        if row.status == "sent"
    ]


def merge_reasons(reasons: list[ReasonCount]) -> list[ReasonCount]:
    """Sum the counts of identical (step, status, reason) lines coming from live and purged runs."""
    totals: dict[tuple[str, str, str], int] = {}
    for line in reasons:
        key = (line.step, line.status, line.reason)
        totals[key] = totals.get(key, 0) + line.count
    return [ReasonCount(step, status, reason, count) for (step, status, reason), count in totals.items()]
