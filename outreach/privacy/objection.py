"""A person's objection (droit d'opposition): an opt-out every campaign and export honours at once.

The channel policy and the partner exports already read `opt_outs`, so recording the objection is
all it takes: the next step of any campaign excludes the person (`opted_out` for every channel,
`opted_out_<channel>` for one), and `partner_sharing` or `all` keeps them out of partner lists.
An opt-out already recorded for the channel (from an import, a STOP, an unsubscribe) is kept as it
was: the person is already protected, and its origin stays true.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select

from outreach import audit
from outreach.models import OptOut, Person
from outreach.population.store import add_opt_outs
from outreach.privacy.erasure import UnknownPerson
from outreach.vocabulary import CHANNELS

OBJECTION_CHANNELS = (*CHANNELS, "partner_sharing", "all")


@dataclass(frozen=True)
class ObjectionResult:
    """Whether the objection was new, or which earlier opt-out already covered the channel."""

    person_id: str
    channel: str
    recorded: bool
    earlier_source: str | None


def record_objection(engine: Engine, person_id: str, channel: str) -> ObjectionResult:
    """Record that `person_id` objects to `channel` (one of `OBJECTION_CHANNELS`), with an audit entry."""
    if channel not in OBJECTION_CHANNELS:
        raise ValueError(f"unknown channel {channel!r}: one of {', '.join(OBJECTION_CHANNELS)}")
    with engine.begin() as connection:
        if connection.scalar(select(Person.person_id).where(Person.person_id == person_id)) is None:
            raise UnknownPerson(f"aucune personne {person_id} dans la base")
        earlier = connection.scalar(
            select(OptOut.source).where(OptOut.person_id == person_id, OptOut.channel == channel)
        )
        if earlier is None:
            add_opt_outs(connection, [{"person_id": person_id, "channel": channel, "source": "objection"}])
        audit.record(
            connection,
            "objection",
            person_id,
            1 if earlier is None else 0,
            {"channel": channel, "earlier_source": earlier},
        )
    return ObjectionResult(person_id, channel, earlier is None, earlier)
