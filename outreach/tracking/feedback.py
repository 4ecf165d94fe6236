"""What events change about people and contact points (principle 7: fail closed on people's data).

- A hard bounce (SendGrid `bounce` of type "bounce", `dropped` for a bounced or invalid address, an
  SMS failing with an invalid-number error) suppresses that address or number and marks the message
  `failed` (reason `hard_bounce`). Soft bounces (type "blocked", temporary SMS errors) are recorded
  only.
- A spam report suppresses the address (the complaint is also on the message's engagement row).
- An SMS STOP (or Twilio's 21610 "unsubscribed recipient") suppresses the number and opts out of SMS
  everyone who has that number (source `sms_stop`); an unsubscribe (link, List-Unsubscribe, SendGrid
  event) opts the person out of that message's channel, or of every channel if they chose so (source
  `unsubscribe`). An unsubscribe from our own link for a message no longer held (purged by retention,
  or erased with its person) names nobody to opt out: it is recorded in the audit log (action
  `unsubscribe_unresolved`, the message key and scope, nothing personal) for an operator, and the
  page tells the person so — a "no" is never dropped silently.
- Digital affinity (`person_engagement.digital_affinity`, -10..10, 0 = nothing known) is recomputed,
  never incremented, from the person's messages sent in the last 365 days:
      + 2 per message whose tracked link was clicked by a person (machine clicks do not count),
      + 3 per letter answered through its QR code / short URL,
      - 1 per ignored e-mail beyond the first: delivered, at least 14 days old, no human open and no
        click (one ignored e-mail is noise; a habit of ignoring is a signal).
  Clicks and responses refresh the score at once; ignored e-mails need the clock, so
  `refresh_affinity` also runs daily over everyone (`outreach tracking affinity`). A negative score
  tells the channel policy to prefer SMS or letter.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, case, func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite

from outreach import audit
from outreach.models import Message, MessageEngagement, OptOut, Person, PersonEngagement, Suppression
from outreach.population.store import add_opt_outs
from outreach.tracking import own
from outreach.tracking.events import EventType, TrackingEvent

if TYPE_CHECKING:
    from outreach.tracking.ingest import MessageRef

CLICK_POINTS = 2
RESPONSE_POINTS = 3
IGNORED_AFTER = timedelta(days=14)
WINDOW = timedelta(days=365)
AFFINITY_RANGE = (-10, 10)

UNRESOLVED_ACTION = "unsubscribe_unresolved"
UNRESOLVED_REASON = "message no longer held (purged by retention, or erased with its person)"
SERVICE_ACTOR = "tracking-service"

SPAM_DROP_REASONS = frozenset({"Spam Reporting Address"})
UNSUBSCRIBED_DROP_REASONS = frozenset({"Unsubscribed Address"})


def apply(
    connection: Connection, items: Sequence[tuple[TrackingEvent, MessageRef | None]], now: datetime
) -> None:
    """Act on events new to the database (the caller guarantees each is seen once)."""
    suppressions: dict[tuple[str, str], str] = {}
    opt_outs: list[dict[str, str]] = []
    stop_numbers: set[str] = set()
    hard_bounced: set[int] = set()
    engaged: set[str] = set()
    unresolved: list[TrackingEvent] = []
    for event, ref in items:
        contact = (event.contact or "")[:254]
        channel = event.channel or (ref.channel if ref else None)
        if event.bounce == "hard":
            if contact and channel in ("email", "sms"):
                reason = "hard_bounce" if channel == "email" else "invalid_number"
                suppressions.setdefault((channel, contact), reason)
            if ref:
                hard_bounced.add(ref.id)
        if contact and (event.event is EventType.COMPLAINED or event.reason in SPAM_DROP_REASONS):
            suppressions[("email", contact)] = "spam_report"
        if event.event is EventType.UNSUBSCRIBED and channel == "sms" and event.provider == "twilio":
            if contact:
                suppressions[("sms", contact)] = "sms_stop"
                stop_numbers.add(contact)
            if ref:
                opt_outs.append({"person_id": ref.person_id, "channel": "sms", "source": "sms_stop"})
        elif ref and (event.event is EventType.UNSUBSCRIBED or event.reason in UNSUBSCRIBED_DROP_REASONS):
            target = "all" if event.channel == "all" else ref.channel
            if target:
                opt_outs.append({"person_id": ref.person_id, "channel": target, "source": "unsubscribe"})
        elif event.event is EventType.UNSUBSCRIBED and event.provider == own.PROVIDER:
            unresolved.append(event)
        if ref and (
            (event.event is EventType.CLICKED and not event.machine) or event.event is EventType.RESPONDED
        ):
            engaged.add(ref.person_id)

    _insert_ignore(connection, Suppression.__table__, ["channel", "value"], _suppression_rows(suppressions))
    add_opt_outs(connection, opt_outs)
    _opt_out_numbers(connection, stop_numbers)
    if hard_bounced:
        connection.execute(
            update(Message)
            .where(Message.id.in_(sorted(hard_bounced)), Message.status == "sent")
            .values(status="failed", reason="hard_bounce")
        )
    if engaged:
        refresh_affinity(connection, now, sorted(engaged))
    for event in unresolved:
        audit.record(
            connection,
            UNRESOLVED_ACTION,
            event.message_key or "",
            1,
            {"scope": "all" if event.channel == "all" else "channel", "reason": UNRESOLVED_REASON},
            actor=SERVICE_ACTOR,
        )


def refresh_affinity(connection: Connection, now: datetime, person_ids: Sequence[str] | None = None) -> int:
    """Recompute digital affinity (rule in the module docstring) for `person_ids`, or for everyone.

    One INSERT ... SELECT ... GROUP BY, upserting `person_engagement`; returns the rows written.
    """
    engagement = MessageEngagement
    ignored = and_(
        Message.channel == "email",
        Message.sent_at <= now - IGNORED_AFTER,
        engagement.delivered_at.is_not(None),
        engagement.first_open_at.is_(None),
        engagement.first_click_at.is_(None),
    )
    counts = (
        select(
            Message.person_id.label("person_id"),
            func.count(engagement.first_click_at).label("clicked"),
            func.sum(
                case((and_(Message.channel == "letter", engagement.responded_at.is_not(None)), 1), else_=0)
            ).label("responded"),
            func.sum(case((ignored, 1), else_=0)).label("ignored"),
        )
        .select_from(Message)
        .outerjoin(engagement, engagement.message_id == Message.id)
        .where(Message.sent_at >= now - WINDOW)
        .group_by(Message.person_id)
    )
    if person_ids is not None:
        counts = counts.where(Message.person_id.in_(person_ids))
    counts = counts.subquery()
    penalty = case((counts.c.ignored > 1, counts.c.ignored - 1), else_=0)
    raw = CLICK_POINTS * counts.c.clicked + RESPONSE_POINTS * counts.c.responded - penalty
    low, high = AFFINITY_RANGE
    score = case((raw < low, low), (raw > high, high), else_=raw)
    source = select(
        counts.c.person_id,
        score.label("digital_affinity"),
        counts.c.clicked,
        counts.c.responded,
        counts.c.ignored,
        literal(now).label("last_updated"),
    ).where(
        counts.c.person_id.is_not(None)
    )  # a WHERE keeps SQLite's INSERT ... SELECT ... ON CONFLICT unambiguous
    table = PersonEngagement.__table__
    insert = (
        _dialect(connection)
        .insert(table)
        .from_select(
            [
                "person_id",
                "digital_affinity",
                "clicked_messages",
                "letter_responses",
                "ignored_emails",
                "last_updated",
            ],
            source,
        )
    )
    new = insert.excluded
    statement = insert.on_conflict_do_update(
        index_elements=["person_id"],
        set_={
            name: new[name]
            for name in (
                "digital_affinity",
                "clicked_messages",
                "letter_responses",
                "ignored_emails",
                "last_updated",
            )
        },
    )
    return connection.execute(statement).rowcount


def _opt_out_numbers(connection: Connection, numbers: set[str]) -> None:
    """Everyone whose mobile number said STOP is opted out of SMS (the number may be shared)."""
    if not numbers:
        return
    source = select(Person.person_id, literal("sms"), literal("sms_stop")).where(
        Person.mobile_phone.in_(sorted(numbers))
    )
    statement = (
        _dialect(connection)
        .insert(OptOut.__table__)
        .from_select(["person_id", "channel", "source"], source)
        .on_conflict_do_nothing(index_elements=["person_id", "channel"])
    )
    connection.execute(statement)


def _suppression_rows(suppressions: dict[tuple[str, str], str]) -> Iterable[dict[str, Any]]:
    return [{"channel": c, "value": v, "reason": r} for (c, v), r in suppressions.items()]


def _insert_ignore(
    connection: Connection, table: Any, keys: list[str], rows: Iterable[dict[str, Any]]
) -> None:
    rows = list(rows)
    if rows:
        connection.execute(
            _dialect(connection).insert(table).on_conflict_do_nothing(index_elements=keys), rows
        )


def _dialect(connection: Connection) -> Any:
    return postgresql if connection.dialect.name == "postgresql" else sqlite
