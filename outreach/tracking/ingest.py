"""Idempotent bulk ingestion of normalised events, with a spool for when the database is away.

One batch is one transaction:
1. duplicates inside the batch are dropped (same provider and event id);
2. events are matched to messages by our key (`m<id>`: SendGrid custom_args, Twilio callback URL,
   own tokens), then by the provider's message id when exactly one message has it; an inbound SMS
   (which names no message) goes with the latest SMS sent to that number, or with none;
3. events that name a message we do not know go to `unmatched_events`, the others to
   `delivery_events`, both with INSERT ... ON CONFLICT DO NOTHING RETURNING, so only events new to
   the database go further (a provider retry or a replayed spool changes nothing);
4. new events are folded into `message_engagement` (one bulk upsert per batch) and handed to
   `feedback` (suppressions, opt-outs, message marks, digital affinity).

If the database cannot be reached (connection refused, locked, read-only), the batch is written to
a spool file and acknowledged: the provider need not retry, and `replay_spool` stores it later with
its original reception time.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from outreach.clock import utcnow
from outreach.delivery.pipeline import message_id_from_key
from outreach.models import Message, Person
from outreach.tracking import bulk, feedback
from outreach.tracking.events import EventType, TrackingEvent

log = logging.getLogger(__name__)

TRANSIENT = frozenset({"40P01", "40001"})
"""PostgreSQL deadlock and serialization failure: retried at once, they are not an outage."""
ATTEMPTS = 3


@dataclass(frozen=True)
class MessageRef:
    """The few facts of a message that feedback needs."""

    id: int
    person_id: str
    channel: str | None


@dataclass(frozen=True)
class IngestResult:
    """What became of one batch: `received` = `stored` + `unmatched` + `duplicates`, or all spooled."""

    received: int
    stored: int = 0
    unmatched: int = 0
    duplicates: int = 0
    spooled: bool = False


def ingest(
    engine: Engine, events: Sequence[TrackingEvent], spool_dir: Path, received_at: datetime | None = None
) -> IngestResult:
    """Store `events` (or spool them if the database is unavailable); never loses a batch silently.

    Errors that are not about reaching the database (a bug, a constraint) propagate, so the web
    service answers 5xx and the provider retries.
    """
    received_at = received_at or utcnow()
    if not events:
        return IngestResult(received=0)
    for attempt in range(ATTEMPTS):
        try:
            with engine.begin() as connection:
                return store(connection, events, received_at)
        except (OperationalError, InterfaceError) as exc:
            if getattr(exc.orig, "sqlstate", None) in TRANSIENT and attempt + 1 < ATTEMPTS:
                continue
            _log_unavailable(exc)
            break
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            _log_unavailable(exc)
            break
    spool(spool_dir, events, received_at)
    return IngestResult(received=len(events), spooled=True)


def store(connection: Connection, events: Sequence[TrackingEvent], received_at: datetime) -> IngestResult:
    """Steps 1-4 of the module docstring, inside the caller's transaction."""
    unique = list({(e.provider, e.provider_event_id): e for e in reversed(events)}.values())[::-1]
    refs = _match(connection, unique)
    unmatched = [e for e in unique if id(e) not in refs and (e.message_key or e.provider_message_id)]
    set_aside = {id(e) for e in unmatched}
    matched = [e for e in unique if id(e) not in set_aside]

    new_matched = bulk.insert_new(
        connection,
        "delivery_events",
        bulk.EVENT_COLUMNS,
        [_event_row(e, refs.get(id(e)), received_at) for e in matched],
    )
    new_unmatched = bulk.insert_new(
        connection,
        "unmatched_events",
        bulk.UNMATCHED_COLUMNS,
        [_unmatched_row(e, received_at) for e in unmatched],
    )
    fresh = [e for e in matched if (e.provider, e.provider_event_id) in new_matched]
    fresh_unmatched = [e for e in unmatched if (e.provider, e.provider_event_id) in new_unmatched]

    _fold_engagement(connection, [(e, refs[id(e)]) for e in fresh if id(e) in refs], received_at)
    feedback.apply(connection, [(e, refs.get(id(e))) for e in fresh + fresh_unmatched], received_at)
    return IngestResult(
        received=len(events),
        stored=len(new_matched),
        unmatched=len(new_unmatched),
        duplicates=len(events) - len(new_matched) - len(new_unmatched),
    )


def _match(connection: Connection, events: Sequence[TrackingEvent]) -> dict[int, MessageRef]:
    """id(event) -> the message it is about, for every event we can attach to a message."""
    wanted = {i for e in events if e.message_key and (i := message_id_from_key(e.message_key)) is not None}
    sql = "SELECT id, person_id, channel FROM messages WHERE id IN"
    by_id = {r[0]: MessageRef(r[0], r[1], r[2]) for r in bulk.select_in(connection, sql, sorted(wanted))}
    refs: dict[int, MessageRef] = {}
    for event in events:
        message_id = message_id_from_key(event.message_key) if event.message_key else None
        if message_id in by_id:
            refs[id(event)] = by_id[message_id]

    fallback = {e.provider_message_id for e in events if id(e) not in refs and e.provider_message_id}
    by_provider: dict[str, list[MessageRef]] = {}
    sql = "SELECT id, person_id, channel, provider_id FROM messages WHERE provider_id IN"
    for r in bulk.select_in(connection, sql, sorted(fallback)):
        by_provider.setdefault(r[3], []).append(MessageRef(r[0], r[1], r[2]))
    for event in events:
        candidates = by_provider.get(event.provider_message_id or "", [])
        if id(event) not in refs and len(candidates) == 1:  # a shared id (one batch request) is no match
            refs[id(event)] = candidates[0]

    inbound = sorted({e.contact for e in events if _is_inbound(e) and e.contact})
    latest: dict[str, MessageRef] = {}
    if inbound:
        rows = connection.execute(
            select(Message.id, Message.person_id, Message.channel, Person.mobile_phone)
            .join(Person, Person.person_id == Message.person_id)
            .where(Person.mobile_phone.in_(inbound), Message.channel == "sms", Message.sent_at.is_not(None))
            .order_by(Message.sent_at.desc(), Message.id.desc())
        )
        for r in rows:
            latest.setdefault(r.mobile_phone, MessageRef(r.id, r.person_id, r.channel))
    for event in events:
        if _is_inbound(event) and event.contact in latest:
            refs[id(event)] = latest[event.contact]
    return refs


def _is_inbound(event: TrackingEvent) -> bool:
    """An SMS a person sent us: it names a number, not a message."""
    return event.channel == "sms" and not event.message_key and not event.provider_message_id


def _event_row(event: TrackingEvent, ref: MessageRef | None, received_at: datetime) -> tuple[Any, ...]:
    return (
        event.provider,
        event.provider_event_id,
        ref.id if ref else None,
        event.event.value,
        event.occurred_at,
        received_at,
        event.machine,
        event.url,
        event.reason,
        event.bounce,
        event.raw,
    )


def _unmatched_row(event: TrackingEvent, received_at: datetime) -> tuple[Any, ...]:
    return (
        event.provider,
        event.provider_event_id,
        (event.message_key or "")[:64] or None,
        (event.provider_message_id or "")[:100] or None,
        event.event.value,
        event.occurred_at,
        received_at,
        event.raw,
    )


_EARLIEST = {
    EventType.DELIVERED: "delivered_at",
    EventType.COMPLAINED: "complained_at",
    EventType.REPLIED: "replied_at",
    EventType.RESPONDED: "responded_at",
    EventType.UNSUBSCRIBED: "unsubscribed_at",
    EventType.FAILED: "failed_at",
}

_NO_FACT = frozenset({EventType.QUEUED, EventType.SENT, EventType.DEFERRED, EventType.UNKNOWN})
"""Events that are stored but change no engagement fact."""


def _fold_engagement(
    connection: Connection, events: Iterable[tuple[TrackingEvent, MessageRef]], now: datetime
) -> None:
    """Fold new events into one engagement row per message, then one bulk upsert for the batch."""
    rows: dict[int, dict[str, Any]] = {}
    for event, ref in events:
        if event.event in _NO_FACT and not event.bounce:
            continue
        row = rows.get(ref.id)
        if row is None:
            row = rows[ref.id] = dict.fromkeys(bulk.ENGAGEMENT_COLUMNS)
            row.update(dict.fromkeys(bulk.COUNTS, 0), message_id=ref.id, updated_at=now)
        at = event.occurred_at
        if event.event is EventType.OPENED:
            if event.machine:
                row["machine_opens"] += 1
            else:
                row["human_opens"] += 1
                _keep(row, "first_open_at", at, min)
                _keep(row, "last_open_at", at, max)
        elif event.event is EventType.CLICKED and not event.machine:
            row["clicks"] += 1
            _keep(row, "first_click_at", at, min)
        if event.bounce:
            row["bounce"] = "hard" if "hard" in (row["bounce"], event.bounce) else event.bounce
            _keep(row, "bounced_at", at, min)
        if event.event in _EARLIEST:
            _keep(row, _EARLIEST[event.event], at, min)
    ordered = [tuple(rows[key][name] for name in bulk.ENGAGEMENT_COLUMNS) for key in sorted(rows)]
    if ordered:
        bulk.upsert_engagement(connection, ordered)


def _keep(row: dict[str, Any], name: str, value: datetime, pick: Any) -> None:
    row[name] = value if row[name] is None else pick(row[name], value)


def _log_unavailable(exc: DBAPIError) -> None:
    # The statement's parameters may hold addresses: log the driver's error class only.
    log.warning("database unavailable (%s): spooling the batch", type(exc.orig).__name__)


# --- the spool ----------------------------------------------------------------------------------


def spool(spool_dir: Path, events: Sequence[TrackingEvent], received_at: datetime) -> Path:
    """Write a batch to its own file, atomically (temp file, fsync, rename): a crash leaves no half file."""
    spool_dir.mkdir(parents=True, exist_ok=True)
    name = f"{received_at:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex}.json"
    temporary = spool_dir / f".{name}.tmp"
    document = {"received_at": received_at.isoformat(), "events": [_to_json(e) for e in events]}
    with temporary.open("w", encoding="utf-8") as handle:
        json.dump(document, handle, ensure_ascii=False)
        handle.flush()
        os.fsync(handle.fileno())
    path = spool_dir / name
    os.replace(temporary, path)
    return path


@dataclass(frozen=True)
class ReplayResult:
    """What `replay_spool` did: files stored and removed, files left (the database is still away)."""

    files: int = 0
    stored: int = 0
    unmatched: int = 0
    duplicates: int = 0
    left: int = 0


def replay_spool(engine: Engine, spool_dir: Path) -> ReplayResult:
    """Store every spooled batch, oldest first, removing each file once its transaction committed.

    Safe to run at any time and more than once: a batch stored twice is deduplicated. Stops at the
    first batch the database still cannot take, leaving it and the newer ones for the next replay.
    """
    files = sorted(spool_dir.glob("*.json")) if spool_dir.is_dir() else []
    totals = {"files": 0, "stored": 0, "unmatched": 0, "duplicates": 0}
    for index, path in enumerate(files):
        document = json.loads(path.read_text(encoding="utf-8"))
        events = [_from_json(item) for item in document["events"]]
        try:
            with engine.begin() as connection:
                result = store(connection, events, datetime.fromisoformat(document["received_at"]))
        except (OperationalError, InterfaceError) as exc:
            _log_unavailable(exc)
            return ReplayResult(**totals, left=len(files) - index)
        path.unlink()
        totals["files"] += 1
        totals["stored"] += result.stored
        totals["unmatched"] += result.unmatched
        totals["duplicates"] += result.duplicates
    return ReplayResult(**totals)


def _to_json(event: TrackingEvent) -> dict[str, Any]:
    data = asdict(event)
    data["event"] = event.event.value
    data["occurred_at"] = event.occurred_at.isoformat()
    return data


def _from_json(data: dict[str, Any]) -> TrackingEvent:
    return TrackingEvent(
        **{
            **data,
            "event": EventType(data["event"]),
            "occurred_at": datetime.fromisoformat(data["occurred_at"]),
        }
    )
