"""Read what the channel policy needs about a chunk of an audience, in a handful of set queries.

A chunk is a range of message ids of one run and step, read first on the primary key. Every other query
then names the chunk's people (and their addresses) explicitly, so that each is an index lookup per
person: people by primary key, opt-outs and suppressions by their unique keys, past messages by
(person_id, sent_at). A subquery would say the same, but PostgreSQL plans it
from statistics, and while a step is decided they are stale (every message was still `planned` when
they were taken): it then hashes a sequential scan of the whole `people` and `messages` tables for
every chunk, a cost that grows with the square of the audience (see `bulk.among`).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import Connection, and_, func, or_, select

from outreach.delivery.bulk import among
from outreach.delivery.policy import PersonFacts, PressureLimits
from outreach.models import (
    CampaignRun,
    LetterReturn,
    Message,
    OptOut,
    OutcomeEvent,
    Person,
    SegmentMembership,
    Suppression,
)

CONTACT_STATUSES = ("queued", "sending", "sent", "ambiguous")
"""Messages that count as a contact for pressure: sent, or about to be."""
NOTHING: frozenset[str] = frozenset()


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
    chunk = connection.execute(
        select(Message.id, Message.person_id).where(chunk_filter(run_id, step, low, high, "planned"))
    ).all()
    if not chunk:
        return {}
    person_ids = [person_id for _, person_id in chunk]
    people = {
        row.person_id: row
        for row in connection.execute(
            select(
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
                Person.address_invalid_on,
            ).where(among(connection, Person.person_id, person_ids))
        )
    }

    opted_out: dict[str, set[str]] = defaultdict(set)
    for person_id, channel in connection.execute(
        select(OptOut.person_id, OptOut.channel).where(among(connection, OptOut.person_id, person_ids))
    ):
        opted_out[person_id].add(channel)

    death_reported = set(
        connection.scalars(
            select(LetterReturn.person_id).where(
                among(connection, LetterReturn.person_id, person_ids),
                LetterReturn.action == "review",
                LetterReturn.reviewed_at.is_(None),
            )
        )
    )

    emails = [row.email for row in people.values() if row.email is not None]
    phones = [row.mobile_phone for row in people.values() if row.mobile_phone is not None]
    suppressed_values = {
        (channel, value)
        for channel, value in connection.execute(
            select(Suppression.channel, Suppression.value).where(
                or_(
                    and_(Suppression.channel == "email", among(connection, Suppression.value, emails)),
                    and_(Suppression.channel == "sms", among(connection, Suppression.value, phones)),
                    and_(Suppression.channel == "letter", among(connection, Suppression.value, person_ids)),
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
            among(connection, Message.person_id, person_ids),
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
                among(connection, Message.person_id, person_ids),
                Message.journey == journey,
                Message.status.in_(CONTACT_STATUSES),
                Message.run_id.in_(other_campaigns),
            )
            .group_by(Message.person_id)
        ).all()
    )

    wave_date = select(CampaignRun.as_of).where(CampaignRun.id == run_id).scalar_subquery()
    outcomes: dict[str, set[str]] = defaultdict(set)
    for person_id, outcome in connection.execute(
        select(OutcomeEvent.person_id, OutcomeEvent.outcome).where(
            among(connection, OutcomeEvent.person_id, person_ids), OutcomeEvent.occurred_on >= wave_date
        )
    ):
        outcomes[person_id].add(outcome)
    segments: dict[str, set[str]] = defaultdict(set)
    for person_id, segment in connection.execute(
        select(SegmentMembership.person_id, SegmentMembership.segment).where(
            among(connection, SegmentMembership.person_id, person_ids), SegmentMembership.left_on.is_(None)
        )
    ):
        segments[person_id].add(segment)

    facts = {}
    for message_id, person_id in chunk:
        row = people.get(person_id)
        if row is None:
            continue
        suppressed = (
            frozenset(
                channel
                for channel, value in (("email", row.email), ("sms", row.mobile_phone), ("letter", person_id))
                if (channel, value) in suppressed_values
            )
            if suppressed_values  # most chunks have none: skip the per-person set
            else NOTHING
        )
        facts[message_id] = PersonFacts(
            person_id=person_id,
            status=row.status,
            has_email=row.email is not None,
            has_mobile=row.mobile_phone is not None,
            has_address=bool((row.address_street or row.address_locality) and row.postal_code and row.city),
            preferred_channel=row.preferred_channel,
            digital_profile=row.digital_profile,
            fragility_flags=row.fragility_flags,
            opted_out=frozenset(opted_out[person_id]) if person_id in opted_out else NOTHING,
            suppressed=suppressed,
            recent_contacts=recent.get(person_id, {}),
            last_journey_contact=last_journey.get(person_id),
            outcomes=frozenset(outcomes[person_id]) if person_id in outcomes else NOTHING,
            segments=frozenset(segments[person_id]) if person_id in segments else NOTHING,
            address_invalid=row.address_invalid_on is not None,
            death_reported=person_id in death_reported,
        )
    return facts
