"""Idempotent bulk ingestion of normalised events, with a spool for when the database is away.

A group of batches (one per request; `groupcommit` puts concurrent requests together) is one
transaction:
1. duplicates are dropped (same provider and event id; the first batch to carry one owns it);
2. events are matched to messages by our key (`m<id>`: SendGrid custom_args, Twilio callback URL,
   own tokens), then by the provider's message id when exactly one message has it; an inbound SMS
   (which names no message) goes with the latest SMS sent to that number, or with none;
3. events that name a message we do not know go to `unmatched_events`, the others to
   `delivery_events`, each set staged and moved with one INSERT ... SELECT ... ON CONFLICT DO NOTHING
   RETURNING (`bulk`), so only events new to the database go further (a provider retry or a
   replayed spool changes nothing);
4. new events are folded into `message_engagement` (one INSERT ... SELECT ... GROUP BY,
   `engagement`) and handed to `feedback` (suppressions, opt-outs, message marks, digital affinity).

If the database cannot be reached (connection refused, locked, read-only), each batch is written to
the spool and acknowledged: the provider need not retry, and `replay_spool` stores it later with
its original reception time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from outreach.clock import utcnow
from outreach.delivery.pipeline import message_id_from_key
from outreach.models import Message, Person
from outreach.tracking import bulk, engagement, feedback, spool
from outreach.tracking.events import TrackingEvent

log = logging.getLogger(__name__)

TRANSIENT = frozenset({"40P01", "40001"})
"""PostgreSQL deadlock and serialization failure: retried at once, they are not an outage."""
ATTEMPTS = 3


class MessageRef(NamedTuple):
    """The few facts of a message that feedback needs (a tuple: one is made per event matched)."""

    id: int
    person_id: str
    channel: str | None


class Batch(NamedTuple):
    """The events of one request and when they were received."""

    events: Sequence[TrackingEvent]
    received_at: datetime


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
    """Store `events` (or spool them if the database is unavailable); never loses a batch silently."""
    return ingest_batches(engine, [Batch(events, received_at or utcnow())], spool_dir)[0]


def ingest_batches(engine: Engine, batches: Sequence[Batch], spool_dir: Path) -> list[IngestResult]:
    """Store `batches` in one transaction (or spool each if the database is unavailable).

    Errors that are not about reaching the database (a bug, a constraint) propagate, so the web
    service answers 5xx and the provider retries.
    """
    if not any(batch.events for batch in batches):
        return [IngestResult(received=0) for _ in batches]
    for attempt in range(ATTEMPTS):
        try:
            with _transaction(engine) as connection:
                return store(connection, batches)
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
    for batch in batches:
        if batch.events:
            spool.write(spool_dir, batch.events, batch.received_at)
    return [IngestResult(received=len(batch.events), spooled=bool(batch.events)) for batch in batches]


@contextmanager
def _transaction(engine: Engine) -> Iterator[Connection]:
    """A write transaction; on SQLite it takes the write lock first (BEGIN IMMEDIATE).

    So the matching reads see what the writes will change. A deferred SQLite transaction that has
    read cannot start writing if another process committed meanwhile (SQLITE_BUSY at once, without
    waiting for the lock): with several service processes that would spool batches for nothing.
    The lock is waited for with the connection's timeout.
    """
    with engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        yield connection


def store(connection: Connection, batches: Sequence[Batch]) -> list[IngestResult]:
    """Steps 1-4 of the module docstring, inside the caller's transaction; one result per batch."""
    at = bulk.timestamps(connection)
    owner, unique, received = _first_occurrences(batches, at)
    refs = _match(connection, unique)
    unmatched = [e for e in unique if id(e) not in refs and (e.message_key or e.provider_message_id)]
    set_aside = {id(e) for e in unmatched}
    matched = [e for e in unique if id(e) not in set_aside]

    new_matched = bulk.insert_new(
        connection,
        "delivery_events",
        bulk.EVENT_COLUMNS,
        [_event_row(e, refs.get(id(e)), received[id(e)], at) for e in matched],
    )
    new_unmatched = bulk.insert_new(
        connection,
        "unmatched_events",
        bulk.UNMATCHED_COLUMNS,
        [_unmatched_row(e, received[id(e)], at) for e in unmatched],
    )
    now = max(batch.received_at for batch in batches)
    engagement.fold(connection, sorted(new_matched.values()), now)
    fresh = [(e, refs.get(id(e))) for e in matched if (e.provider, e.provider_event_id) in new_matched]
    fresh += [(e, None) for e in unmatched if (e.provider, e.provider_event_id) in new_unmatched]
    feedback.apply(connection, fresh, now)
    return _results(batches, owner, new_matched, new_unmatched)


def _first_occurrences(
    batches: Sequence[Batch], at: Callable[[datetime], Any]
) -> tuple[dict[tuple[str, str], int], list[TrackingEvent], dict[int, Any]]:
    """Each event key's owner (the first batch that carries it), the events to store, their reception."""
    owner: dict[tuple[str, str], int] = {}
    unique: list[TrackingEvent] = []
    received: dict[int, Any] = {}
    for index, batch in enumerate(batches):
        when = at(batch.received_at)
        for event in batch.events:
            key = (event.provider, event.provider_event_id)
            if key not in owner:
                owner[key] = index
                unique.append(event)
                received[id(event)] = when
    return owner, unique, received


def _results(
    batches: Sequence[Batch],
    owner: dict[tuple[str, str], int],
    new_matched: Iterable[tuple[str, str]],
    new_unmatched: Iterable[tuple[str, str]],
) -> list[IngestResult]:
    """Per batch: what it brought that was new; everything else it carried was a duplicate."""
    stored, aside = [0] * len(batches), [0] * len(batches)
    for key in new_matched:
        stored[owner[key]] += 1
    for key in new_unmatched:
        aside[owner[key]] += 1
    return [
        IngestResult(
            received=len(batch.events),
            stored=stored[index],
            unmatched=aside[index],
            duplicates=len(batch.events) - stored[index] - aside[index],
        )
        for index, batch in enumerate(batches)
    ]


def _match(connection: Connection, events: Sequence[TrackingEvent]) -> dict[int, MessageRef]:
    """id(event) -> the message it is about, for every event we can attach to a message."""
    keyed = [(e, message_id_from_key(e.message_key)) for e in events if e.message_key]
    wanted = sorted({message_id for _, message_id in keyed if message_id is not None})
    by_id = {r[0]: MessageRef(*r[:3]) for r in _messages(connection, "id", wanted)}
    refs = {id(e): by_id[message_id] for e, message_id in keyed if message_id in by_id}

    fallback = {e.provider_message_id for e in events if id(e) not in refs and e.provider_message_id}
    by_provider: dict[str, list[MessageRef]] = {}
    for r in _messages(connection, "provider_id", sorted(fallback)):
        by_provider.setdefault(r[3], []).append(MessageRef(*r[:3]))
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


def _messages(connection: Connection, column: str, values: Sequence[Any]) -> Sequence[Any]:
    """(id, person_id, channel, provider_id) of the messages whose `column` is one of `values`."""
    if not values:
        return []
    is_one_of, parameter = bulk.any_of(connection, values)
    columns = ("id", "person_id", "channel", "provider_id")
    return bulk.select_rows(connection, columns, f"FROM messages WHERE {column} {is_one_of}", (parameter,))


def _is_inbound(event: TrackingEvent) -> bool:
    """An SMS a person sent us: it names a number, not a message."""
    return event.channel == "sms" and not event.message_key and not event.provider_message_id


def _event_row(
    event: TrackingEvent, ref: MessageRef | None, received: Any, at: Callable[[datetime], Any]
) -> tuple[Any, ...]:
    return (
        event.provider,
        event.provider_event_id,
        ref.id if ref else None,
        event.event.value,
        at(event.occurred_at),
        received,
        event.machine,
        event.url,
        event.reason,
        event.bounce,
        event.raw,
    )


def _unmatched_row(event: TrackingEvent, received: Any, at: Callable[[datetime], Any]) -> tuple[Any, ...]:
    return (
        event.provider,
        event.provider_event_id,
        (event.message_key or "")[:64] or None,
        (event.provider_message_id or "")[:100] or None,
        event.event.value,
        at(event.occurred_at),
        received,
        event.raw,
    )


def _log_unavailable(exc: DBAPIError) -> None:
    """Say which error, by its class and code only: the statement's parameters may hold addresses.

    The code tells an operator an outage (SQLITE_BUSY, SQLITE_CANTOPEN; on PostgreSQL a refused
    connection has none) from a SQLite schema left behind by a deployment (SQLITE_ERROR), which the
    replay will not get past until the database is migrated.
    """
    code = getattr(exc.orig, "sqlite_errorname", None) or getattr(exc.orig, "sqlstate", None) or "no code"
    log.warning(
        "database unavailable (%s, %s): batch spooled, replayed once the database takes it",
        type(exc.orig).__name__,
        code,
    )


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
    files = spool.files(spool_dir)
    totals = {"files": 0, "stored": 0, "unmatched": 0, "duplicates": 0}
    for index, path in enumerate(files):
        events, received_at = spool.read(path)
        try:
            with _transaction(engine) as connection:
                [result] = store(connection, [Batch(events, received_at)])
        except (OperationalError, InterfaceError) as exc:
            _log_unavailable(exc)
            return ReplayResult(**totals, left=len(files) - index)
        path.unlink()
        totals["files"] += 1
        totals["stored"] += result.stored
        totals["unmatched"] += result.unmatched
        totals["duplicates"] += result.duplicates
    return ReplayResult(**totals)
