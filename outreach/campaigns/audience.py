"""The audience of a campaign step, as one SQL SELECT of `person_id` (never a list in Python).

- The first step reaches the segment's members as of the run's date (after a refresh). With
  `new_members_only`, people already contacted (or held out) by an earlier wave of the same campaign
  are left out, so a monthly campaign does not repeat itself; people excluded or deferred earlier
  (no contact point then, pressure cap) get their chance again.
- The complaint journey is per complaint, not per person: its first step reaches members with a
  complaint open on the run's date that no earlier message of the campaign's first step carried
  (`waiting_complaints`), so a person's second complaint is acknowledged like the first; its
  follow-ups reach only those whose complaint (the one the previous message carried) is still open.
- A follow-up step reaches those of the previous step who did not react within its wait (for
  example no human open of the e-mail after 7 days), unless a reaction in `stop_when` ended their
  journey. Those whose journey ended otherwise — an outcome event, or leaving the segment — stay in
  the audience: the channel policy excludes them with the reason (`stopped_outcome`,
  `left_segment`), so the step's report says why they were not followed up.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ColumnElement, Connection, Select, exists, or_, select
from sqlalchemy.orm import aliased

from outreach.campaigns.definition import Campaign, Step
from outreach.models import CampaignRun, Complaint, ComplaintMessage, Message, MessageEngagement
from outreach.segments.history import members_on

REACHED = ("queued", "sending", "sent", "ambiguous", "holdout")
"""Statuses meaning an earlier wave already took care of the person."""


def first_step_audience(connection: Connection, campaign: Campaign, run_id: int, as_of: date) -> Select:
    """Members of the campaign's segment on `as_of` (the segment must have been refreshed by then)."""
    members = members_on(connection, campaign.segment, as_of).order_by(None).subquery()
    audience = select(members.c.person_id)
    if campaign.journey == "complaint":
        waiting = waiting_complaints(campaign, run_id, as_of).subquery()
        return audience.where(members.c.person_id.in_(select(waiting.c.person_id)))
    if not campaign.new_members_only:
        return audience
    earlier = (
        select(Message.id)
        .join(CampaignRun, CampaignRun.id == Message.run_id)
        .where(
            CampaignRun.campaign == campaign.name,
            CampaignRun.dry_run.is_(False),
            CampaignRun.id != run_id,
            Message.step == campaign.steps[0].name,
            Message.person_id == members.c.person_id,
            Message.status.in_(REACHED),
        )
    )
    return audience.where(~exists(earlier))


def open_on(day: date) -> ColumnElement[bool]:
    """The complaint was received on or before `day` and not closed by then (as the segments read it)."""
    return (Complaint.opened_on <= day) & or_(Complaint.closed_on.is_(None), Complaint.closed_on > day)


def waiting_complaints(campaign: Campaign, run_id: int, as_of: date) -> Select:
    """Complaints open on `as_of` that the campaign's first step has still to carry (`complaint_id`,
    `person_id`, `opened_on`).

    With `new_members_only`, a complaint that a message of the first step of an earlier real wave
    already reached (sent, queued, held out...) is done; one whose message was excluded or deferred gets
    its chance again. Without it, every open complaint is carried again by each wave.
    """
    waiting = select(Complaint.complaint_id, Complaint.person_id, Complaint.opened_on).where(open_on(as_of))
    if not campaign.new_members_only:
        return waiting
    carried = (
        select(ComplaintMessage.message_id)
        .join(Message, Message.id == ComplaintMessage.message_id)
        .join(CampaignRun, CampaignRun.id == Message.run_id)
        .where(
            ComplaintMessage.complaint_id == Complaint.complaint_id,
            CampaignRun.campaign == campaign.name,
            CampaignRun.dry_run.is_(False),
            CampaignRun.id != run_id,
            Message.step == campaign.steps[0].name,
            Message.status.in_(REACHED),
        )
    )
    return waiting.where(~exists(carried))


REACTIONS = {
    "delivered": MessageEngagement.delivered_at,
    "opened": MessageEngagement.first_open_at,  # human opens only: machine opens are counted apart
    "clicked": MessageEngagement.first_click_at,
    "replied": MessageEngagement.replied_at,
    "responded": MessageEngagement.responded_at,
}


def _reacted(message_id: ColumnElement[int], reactions: list[str]) -> ColumnElement[bool]:
    """Whether the message `message_id` got any of `reactions` (read from its engagement facts)."""
    return exists(
        select(MessageEngagement.message_id).where(
            MessageEngagement.message_id == message_id,
            or_(*(REACTIONS[r].is_not(None) for r in reactions)),
        )
    )


def follow_up_audience(campaign: Campaign, step: Step, run_id: int, now: datetime) -> Select:
    """Those sent the previous step at least `wait` ago who did not react, and whom no reaction stops.

    A message that bounced for good after it was sent (an e-mail's hard bounce, a letter La Poste
    returned) never reached its person: they are followed up like everyone who did not react, and the
    policy picks another way to reach them (`email_suppressed`, `address_invalid`).
    Reaction stops look at every message of the wave (a click on the first e-mail stops the letter
    two steps later). Outcome and segment stops are the policy's (see `outreach.delivery.policy`).
    """
    previous = aliased(Message)
    audience = select(previous.person_id).where(
        previous.run_id == run_id,
        previous.step == step.after,
        or_(previous.status == "sent", (previous.status == "failed") & (previous.reason == "hard_bounce")),
        previous.sent_at <= now - step.wait_time,
    )
    if step.unless:
        audience = audience.where(~_reacted(previous.id, list(step.unless)))
    stops = [s for s in campaign.stop_when if s in REACTIONS]
    if stops:
        wave = aliased(Message)
        audience = audience.where(
            ~exists(
                select(wave.id).where(
                    wave.run_id == run_id, wave.person_id == previous.person_id, _reacted(wave.id, stops)
                )
            )
        )
    if campaign.journey == "complaint":
        still_open = (
            select(ComplaintMessage.message_id)
            .join(Complaint, Complaint.complaint_id == ComplaintMessage.complaint_id)
            .where(ComplaintMessage.message_id == previous.id, open_on(now.date()))
            .correlate(previous)  # only the audience's row: the query it ends up in may read complaints too
        )
        audience = audience.where(exists(still_open))
    return audience
