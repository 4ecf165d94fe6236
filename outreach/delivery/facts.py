"""Read what the channel policy needs about a chunk of an audience, in a handful of set queries.

A chunk is a range of message ids of one run and step, so no query carries a long list of bound
parameters and every query uses an index: people by primary key, opt-outs and suppressions by their
unique keys, past messages by (person_id, sent_at).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import Connection, and_, func, or_, select

from outreach.delivery.policy import PersonFacts, PressureLimits
from outreach.models import CampaignRun, Message, OptOut, Person, Suppression

CONTACT_STATUSES = ("queued", "sending", "sent", "ambiguous")
"""Messages that count as a contact for pressure: sent, or about to be."""


def chunk_filter(run_id: int, step: str, low: int, high: int, status: str):  # type: ignore[no-untyped-def]
    """Messages of (run, step) with `low < id <= high` in `status`."""
    return and_(
        Message.run_id == run_id,
        Message.step == step,
        Message.status == status,
        Message.id > low,
        Message.id <= high,
    )


def load_facts(
    connection: Connection,
    run_id: int,
    campaign: str,
    step: str,
    journey: str,
    low: int,
    high: int,
    limits: PressureLimits,
    now: datetime,
) -> dict[int, PersonFacts]:
    """Facts for every planned message of the chunk, keyed by message id."""
    in_chunk = chunk_filter(run_id, step, low, high, "planned")
    chunk_people = select(Message.person_id).where(in_chunk).scalar_subquery()
    rows = connection.execute(
        select(
            Message.id,
            Person.person_id,
            Person.status,
            Person.email,
            Person.mobile_phone,
            Person.address_street,
            Person.address_locality,
            Person.postal_code,
            Person.city,
            Person.preferred_channel,
            Person.digital_profile,
            Person.fragility_flags,
        )
        .join(Person, Person.person_id == Message.person_id)
        .where(in_chunk)
    ).all()

    opted_out: dict[str, set[str]] = defaultdict(set)
    for person_id, channel in connection.execute(
        select(OptOut.person_id, OptOut.channel).where(OptOut.person_id.in_(chunk_people))
    ):
        opted_out[person_id].add(channel)

    emails = select(Person.email).where(Person.person_id.in_(chunk_people)).scalar_subquery()
    phones = select(Person.mobile_phone).where(Person.person_id.in_(chunk_people)).scalar_subquery()
    suppressed_values = {
        (channel, value)
        for channel, value in connection.execute(
            select(Suppression.channel, Suppression.value).where(
                or_(
                    and_(Suppression.channel == "email", Suppression.value.in_(emails)),
                    and_(Suppression.channel == "sms", Suppression.value.in_(phones)),
                    and_(Suppression.channel == "letter", Suppression.value.in_(chunk_people)),
                )
            )
        )
    }

    counted_runs = select(CampaignRun.id).where(CampaignRun.dry_run.is_(False)).scalar_subquery()
    contacted_at = func.coalesce(Message.sent_at, Message.planned_at)
    recent: dict[str, dict[str, int]] = defaultdict(dict)
    for person_id, channel, count in connection.execute(
        select(Message.person_id, Message.channel, func.count())
        .where(
            Message.person_id.in_(chunk_people),
            Message.status.in_(CONTACT_STATUSES),
            Message.run_id.in_(counted_runs),
            contacted_at >= now - limits.window,
        )
        .group_by(Message.person_id, Message.channel)
    ):
        recent[person_id][channel] = count

    other_campaigns = (
        select(CampaignRun.id)
        .where(CampaignRun.dry_run.is_(False), CampaignRun.campaign != campaign)
        .scalar_subquery()
    )
    last_journey = dict(
        connection.execute(
            select(Message.person_id, func.max(contacted_at))
            .where(
                Message.person_id.in_(chunk_people),
                Message.journey == journey,
                Message.status.in_(CONTACT_STATUSES),
                Message.run_id.in_(other_campaigns),
            )
            .group_by(Message.person_id)
        ).all()
    )

    facts = {}
    for row in rows:
        suppressed = frozenset(
            channel
            for channel, value in (("email", row.email), ("sms", row.mobile_phone), ("letter", row.person_id))
            if (channel, value) in suppressed_values
        )
        facts[row.id] = PersonFacts(
            person_id=row.person_id,
            status=row.status,
            has_email=row.email is not None,
            has_mobile=row.mobile_phone is not None,
            has_address=bool((row.address_street or row.address_locality) and row.postal_code and row.city),
            preferred_channel=row.preferred_channel,
            digital_profile=row.digital_profile,
            fragility_flags=row.fragility_flags,
            opted_out=frozenset(opted_out.get(row.person_id, ())),
            suppressed=suppressed,
            recent_contacts=recent.get(row.person_id, {}),
            last_journey_contact=last_journey.get(row.person_id),
        )
    return facts
