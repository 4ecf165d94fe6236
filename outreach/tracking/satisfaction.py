"""Satisfaction answers (1-5 and a comment), linked to the message's journey, channel and campaign.

One answer per message: answering again replaces the first answer (a person correcting a misclick).
The comment is free text that may hold personal details: it is stored, never logged.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from outreach.models import CampaignRun, Message, SatisfactionAnswer

MAX_COMMENT = 2000


def record_answer(engine: Engine, message_id: int, score: int, comment: str | None, at: datetime) -> bool:
    """Store an answer; False if the message does not exist (any more)."""
    if not 1 <= score <= 5:
        raise ValueError("a satisfaction score is between 1 and 5")
    with engine.begin() as connection:
        message = connection.execute(
            select(Message.person_id, Message.journey, Message.channel, CampaignRun.campaign)
            .join(CampaignRun, CampaignRun.id == Message.run_id)
            .where(Message.id == message_id)
        ).first()
        if message is None:
            return False
        dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
        insert = dialect.insert(SatisfactionAnswer.__table__).values(
            message_id=message_id,
            person_id=message.person_id,
            journey=message.journey,
            channel=message.channel,
            campaign=message.campaign,
            score=score,
            comment=(comment or "").strip()[:MAX_COMMENT] or None,
            answered_at=at,
        )
        new = insert.excluded
        connection.execute(
            insert.on_conflict_do_update(
                index_elements=["message_id"],
                set_={"score": new.score, "comment": new.comment, "answered_at": new.answered_at},
            )
        )
    return True
