"""Group commit: concurrent requests share a transaction, yet each gets its own result and fate."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, select
from test_tracking_support import seed

from outreach.clock import utcnow
from outreach.models import DeliveryEvent, MessageEngagement
from outreach.tracking.events import EventType, TrackingEvent
from outreach.tracking.groupcommit import GroupCommit
from outreach.tracking.ingest import Batch, IngestResult, ingest_batches


def event(event_id: str, message_id: int, kind: EventType = EventType.OPENED) -> TrackingEvent:
    return TrackingEvent(
        provider="sendgrid",
        provider_event_id=event_id,
        event=kind,
        occurred_at=utcnow() - timedelta(minutes=5),
        raw="{}",
        message_key=f"m{message_id}",
        channel="email",
    )


def test_batches_stored_together_are_counted_each_on_its_own(engine: Engine, tmp_path: Path) -> None:
    message = seed(engine).email["P0001"]
    now = utcnow()
    first = Batch([event("a", message), event("b", message)], now)
    retry = Batch([event("b", message), event("c", 987654)], now)  # SendGrid retried "b" meanwhile
    empty = Batch([], now)

    results = ingest_batches(engine, [first, retry, empty], tmp_path / "spool")

    assert results == [
        IngestResult(received=2, stored=2),
        IngestResult(received=2, unmatched=1, duplicates=1),
        IngestResult(received=0),
    ]
    with engine.connect() as connection:
        assert sorted(connection.scalars(select(DeliveryEvent.provider_event_id))) == ["a", "b"]
        opens = connection.scalar(
            select(MessageEngagement.human_opens).where(MessageEngagement.message_id == message)
        )
    assert opens == 2  # "b" folded once


def test_concurrent_requests_share_one_store_call() -> None:
    calls: list[int] = []
    release = threading.Event()

    def store(batches: Sequence[Batch]) -> list[IngestResult]:
        calls.append(len(batches))
        release.wait(5)  # the first request holds the "transaction" while the others queue up
        return [IngestResult(received=len(b.events), stored=len(b.events)) for b in batches]

    group = GroupCommit(store)
    results: dict[int, IngestResult] = {}

    def post(size: int) -> None:
        results[size] = group.submit(Batch([event(f"{size}-{i}", 1) for i in range(size)], utcnow()))

    threads = [threading.Thread(target=post, args=(size,)) for size in (1, 2, 3, 4)]
    threads[0].start()
    while not calls:
        time.sleep(0.01)
    for thread in threads[1:]:
        thread.start()
    time.sleep(0.2)
    release.set()
    for thread in threads:
        thread.join(5)

    assert calls == [1, 3]
    assert {size: result.stored for size, result in results.items()} == {1: 1, 2: 2, 3: 3, 4: 4}


def test_a_failing_batch_does_not_fail_its_neighbours() -> None:
    calls: list[list[str]] = []
    release = threading.Event()

    def store(batches: Sequence[Batch]) -> list[IngestResult]:
        ids = [e.provider_event_id for b in batches for e in b.events]
        calls.append(ids)
        if ids == ["blocker"]:
            release.wait(5)
        if "poison" in ids:
            raise RuntimeError("a bug")
        return [IngestResult(received=len(b.events), stored=len(b.events)) for b in batches]

    group = GroupCommit(store)
    outcomes: dict[str, object] = {}

    def post(event_id: str) -> None:
        try:
            outcomes[event_id] = group.submit(Batch([event(event_id, 1)], utcnow()))
        except RuntimeError as exc:
            outcomes[event_id] = exc

    threads = {name: threading.Thread(target=post, args=(name,)) for name in ("blocker", "fine", "poison")}
    threads["blocker"].start()
    while not calls:
        time.sleep(0.01)
    threads["fine"].start()
    threads["poison"].start()
    time.sleep(0.2)
    release.set()
    for thread in threads.values():
        thread.join(5)

    assert calls == [["blocker"], ["fine", "poison"], ["fine"], ["poison"]]
    assert outcomes["fine"] == IngestResult(received=1, stored=1)
    assert isinstance(outcomes["poison"], RuntimeError)
