"""Delivery times and engagement over time, aggregated in SQL.

Delivery times are grouped into buckets by the database (per second under a minute, per minute under
an hour, per ten minutes under a day, per hour beyond), and percentiles are read from that histogram:
a percentile is the lower bound of its bucket, exact under a minute and at most 10 % low beyond.
Days are calendar days in UTC, as timestamps are stored.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import ColumnElement, Connection, case, func, literal, select, text, union_all

from outreach.models import Message, MessageEngagement
from outreach.reports.model import DailyEngagement, DeliveryTimes
from outreach.reports.scope import ReportScope
from outreach.reports.sql import day_of, seconds_between

MESSAGES = Message.__table__
ENGAGEMENT = MessageEngagement.__table__
PERCENTILES = (0.5, 0.9, 0.99)


def _bucket(seconds: ColumnElement[int]) -> ColumnElement[int]:
    return case(
        (seconds < 0, 0),  # a provider clock slightly behind ours
        (seconds < 60, seconds),
        (seconds < 3600, (seconds // 60) * 60),
        (seconds < 86400, (seconds // 600) * 600),
        else_=(seconds // 3600) * 3600,
    )


def percentile(histogram: list[tuple[int, int]], share: float) -> int | None:
    """The smallest bucket at or below which `share` of the values lie; histogram sorted by bucket."""
    total = sum(count for _, count in histogram)
    if not total:
        return None
    running = 0
    for bucket, count in histogram:
        running += count
        if running >= share * total:
            return bucket
    return histogram[-1][0]


def delivery_times(connection: Connection, scope: ReportScope) -> tuple[DeliveryTimes, ...]:
    """Sent → delivered percentiles per channel (messages with both times)."""
    # Two levels: group by exact second first (each timestamp parsed once per message), then bucket
    # those few thousand groups; a CASE over the raw expression would parse the timestamps per branch.
    seconds = seconds_between(MESSAGES.c.sent_at, ENGAGEMENT.c.delivered_at).label("seconds")
    per_second = (
        select(MESSAGES.c.channel, seconds, func.count().label("n"))
        .select_from(MESSAGES.join(ENGAGEMENT, ENGAGEMENT.c.message_id == MESSAGES.c.id))
        .where(
            MESSAGES.c.run_id.in_(scope.run_ids),
            MESSAGES.c.sent_at.is_not(None),
            ENGAGEMENT.c.delivered_at.is_not(None),
        )
        .group_by(MESSAGES.c.channel, text("seconds"))
        .subquery("per_second")
    )
    bucket = _bucket(per_second.c.seconds).label("bucket")
    query = select(per_second.c.channel, bucket, func.sum(per_second.c.n)).group_by(
        per_second.c.channel, text("bucket")
    )
    histograms: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for channel, value, count in connection.execute(query):
        histograms[channel or "—"].append((int(value), int(count)))
    result = []
    for channel, histogram in sorted(histograms.items()):
        histogram.sort()
        p50, p90, p99 = (percentile(histogram, share) for share in PERCENTILES)
        result.append(DeliveryTimes(channel, sum(c for _, c in histogram), p50, p90, p99))
    return tuple(result)


def daily_engagement(connection: Connection, scope: ReportScope) -> tuple[DailyEngagement, ...]:
    """Per day: messages first delivered, first opened by a human, first clicked, first answered."""
    moments = {
        "delivered": ENGAGEMENT.c.delivered_at,
        "opened": ENGAGEMENT.c.first_open_at,
        "clicked": ENGAGEMENT.c.first_click_at,
        "responded": func.coalesce(ENGAGEMENT.c.replied_at, ENGAGEMENT.c.responded_at),
    }
    parts = [
        select(literal(name).label("measure"), day_of(moment).label("day"), func.count().label("n"))
        .select_from(MESSAGES.join(ENGAGEMENT, ENGAGEMENT.c.message_id == MESSAGES.c.id))
        .where(MESSAGES.c.run_id.in_(scope.run_ids), moment.is_not(None))
        .group_by(text("day"))
        for name, moment in moments.items()
    ]
    days: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(moments, 0))
    for measure, day, count in connection.execute(union_all(*parts)):
        days[str(day)][measure] = int(count)
    return tuple(DailyEngagement(day, **values) for day, values in sorted(days.items()))
