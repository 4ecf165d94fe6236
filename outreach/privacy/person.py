"""Everything the fund holds about one person (droit d'accès), as data and as readable French text.

Gathered table by table: the person's fields, opt-outs, complaints, segment stays past and present,
every message with its decision, events and engagement facts, survey answers, outcomes, digital
affinity, the partner exports that may have included them, and the audit entries naming them.
Exports record counts, not people: an export is listed when the person was in one of its segments on
its date and had not objected to sharing — what the list's query selected, without its filters.
Reading a person's file is itself audited (`person_view`).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import Connection, Engine, Table, select

from outreach import audit
from outreach.audit import AUDIT
from outreach.models import (
    CampaignRun,
    Complaint,
    DeliveryEvent,
    Message,
    MessageEngagement,
    OptOut,
    OutcomeEvent,
    Person,
    PersonEngagement,
    SatisfactionAnswer,
    SegmentMembership,
)
from outreach.privacy.erasure import UnknownPerson

EVENT_FIELDS = ("event", "occurred_at", "machine", "url", "reason", "bounce")
"""What a person's events show: never `raw`, the provider's payload, which repeats their address."""
NEVER_SHARE = ("partner_sharing", "all")


def _rows(
    connection: Connection, table: Table, *where: Any, order: tuple[Any, ...] = ()
) -> list[dict[str, Any]]:
    query = select(table).where(*where).order_by(*order)
    return [dict(row._mapping) for row in connection.execute(query)]


def _without(row: dict[str, Any], *names: str) -> dict[str, Any]:
    return {key: value for key, value in row.items() if key not in names}


def _messages(connection: Connection, person_id: str) -> list[dict[str, Any]]:
    runs = CampaignRun.__table__
    query = (
        select(Message.__table__, runs.c.campaign, runs.c.wave, runs.c.dry_run)
        .join(runs, runs.c.id == Message.run_id)
        .where(Message.person_id == person_id)
        .order_by(Message.id)
    )
    messages = []
    for row in connection.execute(query):
        message = _without(dict(row._mapping), "person_id", "claimed_by", "claimed_at", "content_digest")
        events = DeliveryEvent.__table__
        message["events"] = [
            {name: event[name] for name in EVENT_FIELDS}
            for event in _rows(
                connection, events, events.c.message_id == row.id, order=(events.c.occurred_at, events.c.id)
            )
        ]
        engagement = _rows(connection, MessageEngagement.__table__, MessageEngagement.message_id == row.id)
        message["engagement"] = _without(engagement[0], "message_id") if engagement else None
        messages.append(message)
    return messages


def _exports(
    connection: Connection, stays: list[dict[str, Any]], opt_outs: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Exports whose segments held the person on the export's date, unless they had objected by then."""
    objected = [o["created_at"] for o in opt_outs if o["channel"] in NEVER_SHARE]
    found = []
    for entry in connection.execute(select(AUDIT).where(AUDIT.c.action == "export").order_by(AUDIT.c.at)):
        details = json.loads(entry.details)
        as_of = date.fromisoformat(details["as_of"])
        segments = sorted(
            {
                stay["segment"]
                for stay in stays
                for segment in details.get("segments", [])
                if stay["segment"] == segment["name"]
                and stay["entered_on"] <= as_of
                and (stay["left_on"] is None or stay["left_on"] > as_of)
            }
        )
        if segments and not any(moment <= entry.at for moment in objected):
            found.append(
                {"at": entry.at, "profile": entry.target, "file": details.get("file"), "as_of": as_of,
                 "segments": segments, "audit_id": entry.id}
            )  # fmt: skip
    return found


def person_file(connection: Connection, person_id: str) -> dict[str, Any]:
    """Everything held about `person_id`, as JSON-ready values (dates stay dates until serialised)."""
    people = _rows(connection, Person.__table__, Person.person_id == person_id)
    if not people:
        raise UnknownPerson(f"aucune personne {person_id} dans la base (jamais importée, ou effacée)")
    opt_outs = _rows(
        connection, OptOut.__table__, OptOut.person_id == person_id, order=(OptOut.created_at, OptOut.id)
    )
    stays = _rows(
        connection,
        SegmentMembership.__table__,
        SegmentMembership.person_id == person_id,
        order=(SegmentMembership.entered_on, SegmentMembership.id),
    )
    by_person = {
        "complaints": (Complaint, (Complaint.opened_on,)),
        "satisfaction_answers": (SatisfactionAnswer, (SatisfactionAnswer.answered_at,)),
        "outcomes": (OutcomeEvent, (OutcomeEvent.occurred_on,)),
        "digital_affinity": (PersonEngagement, ()),
    }
    held: dict[str, Any] = {"person": people[0]}
    held["opt_outs"] = [_without(o, "id", "person_id") for o in opt_outs]
    for key, (model, order) in by_person.items():
        rows = _rows(connection, model.__table__, model.person_id == person_id, order=order)
        held[key] = [_without(row, "person_id") for row in rows]
    held["segments"] = [
        _without(s, "id", "person_id", "entered_refresh_id", "left_refresh_id") for s in stays
    ]
    held["messages"] = _messages(connection, person_id)
    held["exports"] = _exports(connection, stays, opt_outs)
    held["audit"] = [
        _without(dict(row._mapping), "target")
        for row in connection.execute(
            select(AUDIT).where(AUDIT.c.target == person_id).order_by(AUDIT.c.at, AUDIT.c.id)
        )
    ]
    return held


def show_person(engine: Engine, person_id: str) -> dict[str, Any]:
    """The person's file, after recording who looked at it (the entry appears in the file itself)."""
    with engine.begin() as connection:
        if connection.scalar(select(Person.person_id).where(Person.person_id == person_id)) is not None:
            audit.record(connection, "person_view", person_id, 1, {})
        return person_file(connection, person_id)
