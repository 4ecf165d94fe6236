"""Satisfaction survey answers to the campaign's messages: how many, the average, the distribution.

Comments are free text a person wrote and may name them: they are never part of a report.
"""

from __future__ import annotations

from sqlalchemy import Connection, func, select, text

from outreach.models import Message, SatisfactionAnswer
from outreach.reports.model import Satisfaction
from outreach.reports.scope import ReportScope

MESSAGES = Message.__table__
ANSWERS = SatisfactionAnswer.__table__


def satisfaction(connection: Connection, scope: ReportScope) -> Satisfaction:
    """Answers by score and by channel, for the messages of the report's runs."""
    joined = ANSWERS.join(MESSAGES, MESSAGES.c.id == ANSWERS.c.message_id)
    in_scope = MESSAGES.c.run_id.in_(scope.run_ids)
    by_score = dict(
        connection.execute(
            select(ANSWERS.c.score, func.count())
            .select_from(joined)
            .where(in_scope)
            .group_by(ANSWERS.c.score)
        ).all()
    )
    channel = func.coalesce(MESSAGES.c.channel, "—").label("grp")
    by_channel = {
        name: (int(count), round(float(mean), 2))
        for name, count, mean in connection.execute(
            select(channel, func.count(), func.avg(ANSWERS.c.score))
            .select_from(joined)
            .where(in_scope)
            .group_by(text("grp"))
        )
    }
    answers = sum(by_score.values())
    average = round(sum(score * count for score, count in by_score.items()) / answers, 2) if answers else None
    return Satisfaction(
        answers, average, {score: int(by_score.get(score, 0)) for score in range(1, 6)}, by_channel
    )
