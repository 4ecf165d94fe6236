"""Group commit: the batches of concurrent requests are stored together, one transaction per group.

Why: each transaction pays a fixed price — a WAL flush on PostgreSQL; on SQLite, a WAL write of
every page it dirtied and often a checkpoint — and the pages a group dirties are written once for
the whole group. SendGrid posts many batches at once, so while one transaction runs the next
requests queue up; they then go in together. Measured on SQLite: storing costs 20 % less CPU per
event in groups of four batches of 1,000, and the bench's rate at 200,000 events went from 3,300
to 6,200 events/s with it.

There is no extra thread: the first waiting request that finds no transaction running takes the
queue (up to `max_events`) and stores it for everyone, then each request gets its own result. If
a group fails for another reason than an outage (which `ingest` turns into spooling), each of its
batches is retried alone, so one bad batch cannot fail its neighbours.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from outreach.tracking.ingest import Batch, IngestResult

MAX_EVENTS = 5000
"""Events per transaction at most: bigger groups save little and hold the locks longer."""


class _Ticket:
    """One request's batch and, once stored, its outcome."""

    def __init__(self, batch: Batch) -> None:
        self.batch = batch
        self.done = False
        self.result: IngestResult | None = None
        self.error: Exception | None = None


class GroupCommit:
    """Stores batches handed over by concurrent threads, as many per `store` call as are waiting."""

    def __init__(
        self, store: Callable[[Sequence[Batch]], list[IngestResult]], max_events: int = MAX_EVENTS
    ) -> None:
        self._store = store
        self._max_events = max_events
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._queue: list[_Ticket] = []
        self._busy = False

    def submit(self, batch: Batch) -> IngestResult:
        """Store `batch` (with whatever else is waiting) and return its own result, or raise its error."""
        ticket = _Ticket(batch)
        with self._lock:
            self._queue.append(ticket)
            while not ticket.done:
                if self._busy:
                    self._changed.wait()
                    continue
                group = self._take()
                self._busy = True
                self._lock.release()
                try:
                    self._run(group)
                finally:
                    self._lock.acquire()
                    self._busy = False
                    self._changed.notify_all()
        if ticket.error is not None:
            raise ticket.error
        assert ticket.result is not None
        return ticket.result

    def _take(self) -> list[_Ticket]:
        """The oldest waiting tickets, up to `max_events` events (at least one ticket)."""
        size, count = 0, 0
        for ticket in self._queue:
            size += len(ticket.batch.events)
            if count and size > self._max_events:
                break
            count += 1
        group, self._queue = self._queue[:count], self._queue[count:]
        return group

    def _run(self, group: list[_Ticket]) -> None:
        try:
            results = self._store([ticket.batch for ticket in group])
        except Exception as exc:
            if len(group) == 1:
                group[0].error = exc
                group[0].done = True
                return
            for ticket in group:  # alone, each batch meets its own fate
                self._run([ticket])
            return
        for ticket, result in zip(group, results, strict=True):
            ticket.result = result
            ticket.done = True
