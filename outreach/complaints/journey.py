"""The contract between complaints and the complaint journey: each message carries one complaint.

Messages are unique per (run, step, person), which is what keeps a person from being sent a step twice.
The complaint journey is per complaint, so each complaint message is linked (`complaint_messages`) to
the complaint it is about, right after its row is planned and before any decision:

- a first step links each planned message to its person's oldest complaint still waiting for this
  campaign's first step (see `audience.waiting_complaints`); a follow-up step links to the complaint of
  the previous step's message of the same wave;
- a planned message left without a complaint (the complaint was closed, or erased, in between) is
  excluded with the reason `no_complaint`, in the open, rather than rendered without its values;
- the template values `extra.complaint_*` are then read from the linked complaint of each message.

So a variable the journey promises (`EXTRA_BY_JOURNEY`) can never be missing for one of its audience;
`campaigns validate` checks that a campaign's templates read only what its journey promises.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection, exists, insert, literal, select, update
from sqlalchemy.orm import aliased

from outreach.campaigns.audience import waiting_complaints
from outreach.campaigns.definition import Campaign, Step
from outreach.complaints.vocabulary import COMPLAINT_CHANNELS
from outreach.models import Complaint, ComplaintMessage, Message

COMPLAINT_EXTRA = (
    "complaint_reference",
    "complaint_opened_on",
    "complaint_received_by",
    "complaint_closed_on",
)
"""What every message of the complaint journey is given as `extra` (see `context.EXTRA_FIELDS`)."""

EXTRA_BY_JOURNEY: dict[str, frozenset[str]] = {"complaint": frozenset(COMPLAINT_EXTRA)}
"""The `extra` values a campaign of each journey supplies to its templates (none for the others)."""

NO_COMPLAINT = "no_complaint"
"""Reason of a planned complaint message whose complaint is no longer there to be written about."""


def link_step(connection: Connection, campaign: Campaign, step: Step, run_id: int, as_of: date) -> int:
    """Link the step's planned messages to their complaint; exclude those left without one.

    Returns how many were excluded. Idempotent: a message keeps the complaint it was first linked to.
    """
    # correlated on the message only: a follow-up's source reads complaint_messages too
    unlinked = ~exists(
        select(ComplaintMessage.message_id)
        .where(ComplaintMessage.message_id == Message.id)
        .correlate(Message)
    )
    if step.after is None:
        waiting = waiting_complaints(campaign, run_id, as_of).subquery()
        oldest = (
            select(waiting.c.complaint_id)
            .where(waiting.c.person_id == Message.person_id)
            .order_by(waiting.c.opened_on, waiting.c.complaint_id)
            .limit(1)
            .scalar_subquery()
        )
        source = select(Message.id, oldest).where(
            Message.run_id == run_id, Message.step == step.name, Message.status == "planned", unlinked
        )
    else:
        previous = aliased(Message)
        source = (
            select(Message.id, ComplaintMessage.complaint_id)
            .join(
                previous,
                (previous.run_id == Message.run_id)
                & (previous.step == literal(step.after))
                & (previous.person_id == Message.person_id),
            )
            .join(ComplaintMessage, ComplaintMessage.message_id == previous.id)
            .where(Message.run_id == run_id, Message.step == step.name, Message.status == "planned", unlinked)
        )
    linked = source.subquery()
    connection.execute(
        insert(ComplaintMessage).from_select(
            ["message_id", "complaint_id"],
            select(*linked.c).where(linked.c[1].is_not(None)),
        )
    )
    return connection.execute(
        update(Message)
        .where(Message.run_id == run_id, Message.step == step.name, Message.status == "planned", unlinked)
        .values(status="excluded", reason=NO_COMPLAINT)
        .execution_options(synchronize_session=False)
    ).rowcount


def complaint_extra(connection: Connection, run_id: int, step: str) -> dict[str, dict[str, Any]]:
    """The `extra` values of each message of the step, by person (a step has one message per person),
    from the complaint the message carries."""
    rows = connection.execute(
        select(
            Message.person_id,
            Complaint.complaint_id,
            Complaint.opened_on,
            Complaint.received_by,
            Complaint.closed_on,
        )
        .select_from(ComplaintMessage)
        .join(Complaint, Complaint.complaint_id == ComplaintMessage.complaint_id)
        .join(Message, Message.id == ComplaintMessage.message_id)
        .where(Message.run_id == run_id, Message.step == step)
    ).all()
    return {
        row.person_id: {
            "complaint_reference": row.complaint_id,
            "complaint_opened_on": row.opened_on,
            "complaint_received_by": COMPLAINT_CHANNELS.get(row.received_by or "", ""),
            "complaint_closed_on": row.closed_on,
        }
        for row in rows
    }
