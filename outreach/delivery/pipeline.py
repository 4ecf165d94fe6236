"""The sending pipeline of one campaign step: plan, decide, then claim-render-send in batches.

Every stage is a set operation or a batch, and every stage is safe to run again:

- `plan` writes one `messages` row per audience member (INSERT ... SELECT; the unique key
  (run, step, person) makes a second plan a no-op) and gives deferred people another chance;
- `decide` applies the channel policy chunk by chunk: queued with a channel, excluded or deferred
  with a reason, or held out as the control group;
- `send` reads and renders the next batch while the channel sends the one before, then claims it
  (`sending`, committed *before* the provider is called — the guard against a second send) and hands
  it over, and records each outcome. A claim takes only messages still `queued`, so any number of
  workers can share a step: what another worker claimed first is simply not sent by this one;
- `recover` settles what a worker that is gone left `sending`, and what a timeout left `ambiguous`,
  by asking the provider (reconciliation): found means sent, not found means it never left and is
  queued again. A worker's claims carry its lease (`leases.py`), so a crashed worker's claims are
  recognised at once, and recovery takes them by compare-and-set before asking anyone.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from typing import Any

from sqlalchemy import Engine, Select, and_, func, literal, or_, select, text, true, update
from sqlalchemy.dialects import postgresql, sqlite

from outreach.channels.base import (
    Channel,
    HandedOver,
    OutgoingMessage,
    Reconciliation,
    SendResult,
    content_digest,
)
from outreach.clock import utcnow
from outreach.delivery.bulk import among, set_messages
from outreach.delivery.collector import collector_paused
from outreach.delivery.facts import load_facts
from outreach.delivery.leases import Lease, held
from outreach.delivery.policy import Decision, PersonFacts, PressureLimits, StepPolicy, decide
from outreach.delivery.windows import DEFAULT_WINDOWS, SendWindow
from outreach.models import CampaignRun, Message, Person
from outreach.rendering.errors import RenderError, TemplateError

MESSAGES = Message.__table__
ANALYZE_AFTER = 1_000
"""Rows planned (then decided) after which PostgreSQL's statistics on `messages` are refreshed."""
PEOPLE = Person.__table__


def _draw(*parts: str) -> float:
    """A reproducible number in [0, 1) for a person: the same draw at every run, on every machine."""
    digest = hashlib.sha256(":".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass(frozen=True)
class Arm:
    """A version of a step's message (A/B testing): its share of the audience and its templates."""

    name: str
    share: float
    templates: Mapping[tuple[str, str], str]
    """(channel, variant) -> template name; a missing 'fragile' variant falls back to 'standard'."""

    def template_for(self, channel: str, variant: str) -> str:
        template = self.templates.get((channel, variant)) or self.templates.get((channel, "standard"))
        if template is None:
            raise ValueError(f"arm {self.name} has no template for channel {channel}")
        return template


@dataclass(frozen=True)
class StepSpec:
    """One step of a campaign as the pipeline needs it (campaign files compile to this)."""

    campaign: str
    step: str
    journey: str
    policy: StepPolicy
    arms: tuple[Arm, ...]
    holdout_share: float = 0.0

    def in_holdout(self, person_id: str) -> bool:
        """The control group: the same people at every run of the campaign, whatever the step."""
        return self.holdout_share > 0 and _draw(self.campaign, "holdout", person_id) < self.holdout_share

    def arm_for(self, person_id: str) -> Arm:
        """The A/B arm of a person: reproducible, and independent of the holdout draw."""
        point, cumulated = _draw(self.campaign, self.step, "arm", person_id), 0.0
        for arm in self.arms:
            cumulated += arm.share
            if point < cumulated:
                return arm
        return self.arms[-1]


@dataclass(frozen=True)
class ClaimedMessage:
    """A queued message as a worker renders it, then claims and sends it."""

    id: int
    person_id: str
    channel: str
    template: str
    variant: str

    @property
    def key(self) -> str:
        """The identifier that travels with the message to the provider and comes back in events."""
        return message_key(self.id)


Composer = Callable[[ClaimedMessage, Mapping[str, Any]], OutgoingMessage]
"""Renders one claimed message for one person (a `people` row as a mapping) into what a channel sends."""


class StepHalted(RuntimeError):
    """The step stopped on a systemic problem (a broken template); claimed messages were put back."""


@dataclass
class SendSummary:
    """What one `send` call did, by outcome and channel, and what is left."""

    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)
    waiting: dict[str, datetime] = field(default_factory=dict)
    """Channels whose window is closed, with the time they open (their messages stay queued)."""
    exhausted: int = 0
    """Messages still queued after `max_attempts` transient failures (the provider is down)."""
    recovered: Counter[str] = field(default_factory=Counter)
    """What recovery settled around this call: sent, requeued, unresolved (see `recover`)."""

    def count(self, outcome: str) -> int:
        return sum(n for (o, _), n in self.outcomes.items() if o == outcome)


def message_key(message_id: int) -> str:
    return f"m{message_id}"


def message_id_from_key(key: str) -> int | None:
    """The message id in a key that came back from a provider, or None if it is not one of ours."""
    return int(key[1:]) if key.startswith("m") and key[1:].isdigit() else None


def _insert(engine: Engine, table: Any) -> Any:
    return (postgresql if engine.dialect.name == "postgresql" else sqlite).insert(table)


def open_run(
    engine: Engine,
    campaign: str,
    wave: str,
    as_of: date,
    dry_run: bool = False,
    triggered_by: str | None = None,
) -> int:
    """The run of `campaign` for `wave`, created on first use and reused by every rerun."""
    with engine.begin() as connection:
        connection.execute(
            _insert(engine, CampaignRun.__table__)
            .values(
                campaign=campaign,
                wave=wave,
                as_of=as_of,
                dry_run=dry_run,
                status="running",
                triggered_by=triggered_by,
                started_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["campaign", "wave", "dry_run"])
        )
        return connection.scalar(
            select(CampaignRun.id).where(
                CampaignRun.campaign == campaign, CampaignRun.wave == wave, CampaignRun.dry_run == dry_run
            )
        )


def plan(engine: Engine, run_id: int, spec: StepSpec, audience: Select) -> int:
    """Write a `planned` row for each audience member not yet in the step; returns how many are new.

    `audience` selects one column, `person_id`. Deferred people of earlier attempts are planned again.
    """
    now = utcnow()
    members = audience.subquery()
    source = select(
        literal(run_id),
        literal(spec.step),
        members.c.person_id,
        literal(spec.journey),
        literal("planned"),
        literal(now),
    ).where(true())  # SQLite needs a WHERE before ON CONFLICT in INSERT ... SELECT (a parsing ambiguity)
    with engine.begin() as connection:
        before = _count(connection, run_id, spec.step)
        connection.execute(
            _insert(engine, MESSAGES)
            .from_select(["run_id", "step", "person_id", "journey", "status", "planned_at"], source)
            .on_conflict_do_nothing(index_elements=["run_id", "step", "person_id"])
        )
        connection.execute(
            update(Message)
            .where(Message.run_id == run_id, Message.step == spec.step, Message.status == "deferred")
            .values(status="planned", reason=None)
        )
        added = _count(connection, run_id, spec.step) - before
    if added >= ANALYZE_AFTER and engine.dialect.name == "postgresql":
        # A first big campaign on a fresh database: PostgreSQL still believes `messages` is empty and
        # plans the contact-pressure queries as nested loops (seen: 50 s per chunk instead of 0.2 s).
        with engine.begin() as connection:
            connection.execute(text("ANALYZE messages"))
    return added


def _count(connection: Any, run_id: int, step: str) -> int:
    return connection.scalar(
        select(func.count()).select_from(Message).where(Message.run_id == run_id, Message.step == step)
    )


def decide_step(
    engine: Engine,
    run_id: int,
    spec: StepSpec,
    limits: PressureLimits,
    now: datetime | None = None,
    chunk: int = 5_000,
) -> Counter[str]:
    """Apply the channel policy to every planned message of the step; returns counts by reason.

    The decisions of a chunk are written on a thread of their own while the next chunk's facts are
    read and decided: the database and the policy work at the same time.
    """
    now = now or utcnow()
    reasons: Counter[str] = Counter()
    low = decided = 0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="decisions") as writer:
        written: Future[None] | None = None
        while (high := _chunk_end(engine, run_id, spec.step, low, chunk)) is not None:
            with engine.connect() as connection, collector_paused():
                facts = load_facts(
                    connection, run_id, spec.campaign, spec.step, spec.journey, low, high, limits, now
                )
            decisions = [
                (message_id, _decision(spec, person, limits, now, reasons))
                for message_id, person in facts.items()
            ]
            if written is not None:
                written.result()
            written = writer.submit(_write_decisions, engine, decisions)
            decided += len(decisions)
            low = high
        if written is not None:
            written.result()
    if decided >= ANALYZE_AFTER and engine.dialect.name == "postgresql":
        # The statistics taken after `plan` saw every message `planned`; sending claims `queued` ones.
        with engine.begin() as connection:
            connection.execute(text("ANALYZE messages"))
    return reasons


def _decision(
    spec: StepSpec, person: PersonFacts, limits: PressureLimits, now: datetime, reasons: Counter[str]
) -> dict[str, Any]:
    """The policy's decision for one person, as the message columns it sets (counted in `reasons`)."""
    decision = decide(person, spec.policy, limits, now)
    if decision.status == "queued" and spec.in_holdout(person.person_id):
        decision = Decision("holdout", "holdout", decision.channel, decision.variant)
    reasons[decision.reason] += 1
    arm = spec.arm_for(person.person_id) if decision.channel else None
    template = arm.template_for(decision.channel, decision.variant) if arm else None
    return {
        "status": decision.status,
        "reason": decision.reason,
        "channel": decision.channel,
        "variant": decision.variant,
        "template": template,
        "arm": arm.name if arm else None,
        "planned_at": now,
    }


def _write_decisions(engine: Engine, decisions: list[tuple[int, dict[str, Any]]]) -> None:
    # only rows still planned: another worker deciding the same step must not re-queue what this one
    # already claimed (that would be a second send)
    with engine.begin() as connection:
        set_messages(connection, decisions, MESSAGES.c.status == "planned")


def _chunk_end(engine: Engine, run_id: int, step: str, low: int, size: int) -> int | None:
    """The id that ends the next chunk of `size` planned messages after `low` (None: none is left).

    Chunks are found one after the other (keyset), rather than from a list of every planned id: the
    step's size then costs no memory, and no Python object per message before its chunk.
    """
    planned = select(Message.id).where(
        Message.run_id == run_id, Message.step == step, Message.status == "planned", Message.id > low
    )
    with engine.connect() as connection:
        end = connection.scalar(planned.order_by(Message.id).offset(size - 1).limit(1))
        if end is None:
            end = connection.scalar(select(func.max(planned.subquery().c.id)))
    return end


def _next_batch(
    engine: Engine, run_id: int, step: str, channel: str, max_attempts: int, size: int, after: int
) -> list[ClaimedMessage]:
    """The next `size` queued messages after id `after`, to render; nothing is claimed yet (`_claim`).

    Reading from where the previous batch ended (keyset) lets PostgreSQL walk its primary key from
    there and stop at `size` messages, where "the first queued messages of the step" has it sort every
    message still queued, at every batch (a cost that grows with the square of the step).
    """
    with engine.connect() as connection:
        rows = connection.execute(
            select(Message.id, Message.person_id, Message.channel, Message.template, Message.variant)
            .where(
                Message.run_id == run_id,
                Message.step == step,
                Message.channel == channel,
                Message.status == "queued",
                Message.attempts < max_attempts,
                Message.id > after,
            )
            .order_by(Message.id)
            .limit(size)
        ).all()
    return [ClaimedMessage(*row) for row in rows]


def _claim(
    engine: Engine, worker: str, max_attempts: int, batch: list[ClaimedMessage], digests: Mapping[int, str]
) -> set[int]:
    """Mark the messages of `batch` still queued as `sending` for `worker`, committed before any provider
    call; returns the ids this worker now holds (another worker may have claimed some meanwhile).

    `claimed_at` is the real time (a worker's act, not the simulated journey's clock): recovery tells
    the provider's messages from older ones by it. `digests` (message id -> body digest, for channels
    that reconcile by content) are recorded in the same transaction, so whoever recovers the claim
    knows what was handed over.
    """
    with engine.begin() as connection:
        claimed = set(
            connection.scalars(
                update(Message)
                .where(
                    among(connection, MESSAGES.c.id, [m.id for m in batch]),
                    Message.status == "queued",
                    Message.attempts < max_attempts,
                )
                .values(
                    status="sending", claimed_by=worker, claimed_at=utcnow(), attempts=Message.attempts + 1
                )
                .returning(Message.id)
            )
        )
        if digests:
            mine = and_(MESSAGES.c.status == "sending", MESSAGES.c.claimed_by == worker)
            set_messages(
                connection, ((i, {"content_digest": digests[i]}) for i in claimed if i in digests), mine
            )
    return claimed


def _people(engine: Engine, batch: list[ClaimedMessage]) -> dict[str, Mapping[str, Any]]:
    """The `people` rows of a claimed batch (read once per batch, not once per message), as plain dicts:
    a template context reads some twenty fields of each, and a dict reads them several times faster
    than a result row's mapping view."""
    with engine.connect() as connection:
        result = connection.execute(
            PEOPLE.select().where(among(connection, PEOPLE.c.person_id, [m.person_id for m in batch]))
        )
        columns = tuple(result.keys())
        return {row.person_id: dict(zip(columns, row, strict=True)) for row in result}


STATUS_FOR_OUTCOME = {"sent": "sent", "failed": "failed", "retry": "queued", "ambiguous": "ambiguous"}


def _outcome_values(result: SendResult, now: datetime) -> dict[str, Any]:
    """The columns a send result sets; a send (or a retry) keeps the decision's reason."""
    values = {
        "status": STATUS_FOR_OUTCOME[result.outcome],
        "provider_id": result.provider_id,
        "detail": result.reason,
        "sms_segments": result.segments,
        "sent_at": now if result.outcome == "sent" else None,
    }
    if result.outcome == "failed":  # an ambiguous message keeps its reason: it may well be sent
        values["reason"] = "provider_failed"
    return values


def _record(engine: Engine, results: list[tuple[int, SendResult]], now: datetime) -> None:
    if results:
        with engine.begin() as connection:
            set_messages(
                connection,
                ((message_id, _outcome_values(result, now)) for message_id, result in results),
                MESSAGES.c.status == "sending",
            )


def send_step(
    engine: Engine,
    run_id: int,
    spec: StepSpec,
    channels: Mapping[str, Channel],
    compose: Composer,
    worker: str,
    windows: Mapping[str, SendWindow] = DEFAULT_WINDOWS,
    clock: Callable[[], datetime] = utcnow,
    max_attempts: int = 5,
    limit: int | None = None,
    on_progress: Callable[[SendSummary], None] | None = None,
    before_send: Callable[[str, int], None] | None = None,
) -> SendSummary:
    """Send the step's queued messages, channel by channel, batch by batch, until none is left.

    A channel whose window is closed is skipped (its messages wait); `limit` caps how many messages
    this call sends (for trial runs and chunked tasks). `before_send(channel, size)` runs before each
    provider call: the flows use it to take slots of the provider's global rate limit. Returns what
    happened.
    """
    summary = SendSummary()
    budget = limit if limit is not None else float("inf")
    for channel_name, channel in channels.items():
        window = windows.get(channel_name)
        moment = clock().replace(tzinfo=UTC)
        if window is not None and not window.is_open(moment):
            summary.waiting[channel_name] = window.next_opening(moment)
            continue
        budget = _send_channel(
            engine,
            channel,
            partial(_next_batch, engine, run_id, spec.step, channel_name, max_attempts),
            partial(_claim, engine, worker, max_attempts),
            compose,
            clock,
            budget,
            summary,
            on_progress,
            partial(before_send, channel_name) if before_send else None,
        )
    with engine.connect() as connection:
        summary.exhausted = connection.scalar(
            select(func.count())
            .select_from(Message)
            .where(
                Message.run_id == run_id,
                Message.step == spec.step,
                Message.status == "queued",
                Message.attempts >= max_attempts,
            )
        )
    return summary


def _send_channel(
    engine: Engine,
    channel: Channel,
    next_batch: Callable[[int, int], list[ClaimedMessage]],
    claim: Callable[[list[ClaimedMessage], Mapping[int, str]], set[int]],
    compose: Composer,
    clock: Callable[[], datetime],
    budget: float,
    summary: SendSummary,
    on_progress: Callable[[SendSummary], None] | None,
    before_send: Callable[[int], None] | None,
) -> float:
    """Send one channel's queued messages batch by batch; returns what is left of the budget.

    Three stages overlap, each on a thread of its own: this one reads, renders and claims batch N+2
    while batch N+1 is with the provider and the outcomes of batch N are written. A batch is claimed
    only once the one before has left the provider's hands, so a worker holds at most two batches in
    `sending` (one being sent, one being recorded): a crash leaves those for `recover`, and other
    workers find the rest of the queue free. What another worker claimed meanwhile is not sent here.
    """
    handed: deque[_InFlight] = deque()
    """Batches handed over and not yet settled, oldest first (at most two)."""

    def settle_oldest() -> None:
        _settle(engine, handed.popleft(), channel, summary)
        if on_progress:
            on_progress(summary)

    with (
        ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"send-{channel.name}") as sender,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"record-{channel.name}") as recorder,
    ):
        after = 0
        try:
            while budget > 0:
                batch = next_batch(int(min(channel.max_batch, budget)), after)
                if not batch:
                    if not handed and after == 0:
                        break
                    while handed:  # their outcomes may put messages back in the queue
                        settle_oldest()
                    after = 0  # another pass, for messages put back behind us (retries)
                    continue
                after = batch[-1].id
                composed = _compose(engine, batch, compose)
                if len(handed) == 2:
                    settle_oldest()
                if handed and handed[-1].sent.exception() is not None:  # waits until it has left
                    while handed:  # a batch the channel could not take stops the step here
                        settle_oldest()
                claimed = claim(batch, _digests(channel, composed))
                if not claimed:
                    continue
                composed = composed.only(claimed)
                budget -= len(claimed)
                try:
                    if before_send:
                        before_send(len(claimed))
                except BaseException:
                    _release(engine, composed.batch)  # claimed, never handed to the channel
                    raise
                sent = sender.submit(_send, channel, composed)
                handed.append(_InFlight(composed, sent, recorder.submit(_record_sent, engine, sent, clock)))
            while handed:
                settle_oldest()
        except BaseException:
            while handed:  # handed over for real: record what each batch became
                with contextlib.suppress(Exception):  # the first error is the one to report
                    _settle(engine, handed.popleft(), channel, summary)
            raise
    return budget


@dataclass
class _Composed:
    """A batch, rendered: what goes to the channel, and the outcomes already known."""

    batch: list[ClaimedMessage]
    outgoing: list[OutgoingMessage]
    ids: dict[str, int]
    """Message key -> message id, for the channel's results."""
    results: list[tuple[int, SendResult]]
    """Messages that failed to render (bad data of one person), with their outcome."""

    def only(self, claimed: set[int]) -> _Composed:
        """The part of the batch this worker claimed."""
        if len(claimed) == len(self.batch):
            return self
        return _Composed(
            [m for m in self.batch if m.id in claimed],
            [m for m in self.outgoing if self.ids[m.message_key] in claimed],
            {key: i for key, i in self.ids.items() if i in claimed},
            [(i, result) for i, result in self.results if i in claimed],
        )


@dataclass
class _InFlight:
    """A claimed batch handed over: its outcomes once sent, then once recorded."""

    composed: _Composed
    sent: Future[list[tuple[int, SendResult]]]
    done: Future[list[tuple[int, SendResult]]]


def _halted(exc: TemplateError) -> StepHalted:
    return StepHalted(f"template problem, step halted and its messages kept queued: {exc}")


def _compose(engine: Engine, batch: list[ClaimedMessage], compose: Composer) -> _Composed:
    """Render a batch (not claimed yet: a broken template halts the step with nothing to put back)."""
    with collector_paused():
        people = _people(engine, batch)
        composed = _Composed(batch, [], {}, [])
        for message in batch:
            try:
                rendered = compose(message, people[message.person_id])
            except TemplateError as exc:
                raise _halted(exc) from exc
            except RenderError as exc:
                failed = SendResult(message.key, "failed", reason=f"render: {exc}")
                composed.results.append((message.id, failed))
                continue
            composed.outgoing.append(rendered)
            composed.ids[rendered.message_key] = message.id
    return composed


def _digests(channel: Channel, composed: _Composed) -> dict[int, str]:
    """Message id -> digest of the body about to be handed over, for a channel that reconciles by
    content (nothing for the others: their providers find our messages by key)."""
    if not channel.reconciles_by_content:
        return {}
    return {composed.ids[m.message_key]: content_digest(m.body) for m in composed.outgoing}


def _send(channel: Channel, composed: _Composed) -> list[tuple[int, SendResult]]:
    """Hand a claimed batch to the channel (on the sending thread): each message's outcome."""
    results = list(composed.results)
    if composed.outgoing:
        sent = channel.send(composed.outgoing)
        results += [(composed.ids[r.message_key], r) for r in sent]
    return results


def _record_sent(
    engine: Engine, sent: Future[list[tuple[int, SendResult]]], clock: Callable[[], datetime]
) -> list[tuple[int, SendResult]]:
    """Record the outcomes of a batch once it is sent (on the recording thread, with a connection of
    its own: the next batch is sent meanwhile). A batch that failed to send records nothing here."""
    results = sent.result()
    _record(engine, results, clock())
    return results


def _settle(engine: Engine, in_flight: _InFlight, channel: Channel, summary: SendSummary) -> None:
    """Wait until a batch is sent and recorded, and count its outcomes."""
    try:
        results = in_flight.done.result()
    except TemplateError as exc:  # letters are laid out inside the print channel
        _release(engine, in_flight.composed.batch)
        raise _halted(exc) from exc
    for _, result in results:
        summary.outcomes[(result.outcome, channel.name)] += 1


def _release(engine: Engine, batch: list[ClaimedMessage]) -> None:
    """Give claimed messages back to the queue, as if never claimed (nothing was sent)."""
    with engine.begin() as connection:
        connection.execute(
            update(Message)
            .where(Message.id.in_([m.id for m in batch]), Message.status == "sending")
            .values(status="queued", claimed_by=None, claimed_at=None, attempts=Message.attempts - 1)
        )


IN_DOUBT = ("sending", "ambiguous")
"""Messages that may or may not have reached the provider: a wave is not done while one is left."""


def recover(
    engine: Engine,
    run_id: int,
    step: str,
    channels: Mapping[str, Channel],
    lease: Lease,
    now: datetime | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Counter[str]:
    """Settle what workers that are gone left `sending`, and every `ambiguous` message nobody holds.

    The messages are first taken under `lease` (a compare-and-set on the claim each was read with), so
    two workers recovering at once never settle the same message: what another took first is left to
    it. The provider is then asked which it received: those are sent; the others never left and are
    queued again. "Not found" is only believed once the channel's `settle_seconds` have passed since
    the messages were taken (a request the dead worker had in flight may still be landing); a channel
    that cannot tell leaves them as they are (`unresolved`), held until this lease ends, for the next
    run. Every message keeps its decision's reason; `detail` records the reconciliation.
    """
    now = now or utcnow()
    settled: Counter[str] = Counter()
    taken_at = time.monotonic()
    for channel_name, message_ids in _take_orphans(engine, run_id, step, lease).items():
        channel = channels.get(channel_name or "")
        if channel is None:
            settled["unknown_channel"] += len(message_ids)
            continue
        keys = [message_key(i) for i in message_ids]
        handed = _handed_over(engine, message_ids) if channel.reconciles_by_content else None
        answer = channel.reconcile(keys, handed)
        missing = [key for key in keys if key not in answer.found]
        if missing and answer.complete and channel.settle_seconds > 0:
            sleep(max(0.0, channel.settle_seconds - (time.monotonic() - taken_at)))
            later = channel.reconcile(missing, handed)
            answer = Reconciliation({**answer.found, **later.found}, later.complete)
        found = answer.found
        sent = [(i, found[message_key(i)]) for i in message_ids if message_key(i) in found]
        # Without a complete answer, "not found" proves nothing: those stay as they are.
        lost = [i for i in message_ids if message_key(i) not in found] if answer.complete else []
        # (an OR, not IN: an expanding IN cannot go through the executemany of `set_messages`)
        mine = and_(MESSAGES.c.claimed_by == lease.id, or_(*(MESSAGES.c.status == s for s in IN_DOUBT)))
        found_values = {"status": "sent", "sent_at": now, "detail": "reconciled_found"}
        with engine.begin() as connection:
            set_messages(connection, ((i, {**found_values, "provider_id": p}) for i, p in sent), mine)
            if lost:
                connection.execute(
                    update(MESSAGES)
                    .where(among(connection, MESSAGES.c.id, lost), mine)
                    .values(status="queued", claimed_by=None, claimed_at=None, detail="reconciled_not_found")
                )
        settled["sent"] += len(sent)
        settled["requeued"] += len(lost)
        settled["unresolved"] += len(message_ids) - len(sent) - len(lost)
    return settled


def _handed_over(engine: Engine, message_ids: list[int]) -> dict[str, HandedOver]:
    """What each message was when it was claimed: its person's number, its body's digest, the time.

    A message claimed before digests were recorded has none: the channel then cannot tell, and says so.
    """
    with engine.connect() as connection:
        rows = connection.execute(
            select(MESSAGES.c.id, PEOPLE.c.mobile_phone, MESSAGES.c.content_digest, MESSAGES.c.claimed_at)
            .join(PEOPLE, PEOPLE.c.person_id == MESSAGES.c.person_id)
            .where(among(connection, MESSAGES.c.id, message_ids), MESSAGES.c.content_digest.is_not(None))
        ).all()
    return {
        message_key(i): HandedOver(to, digest, claimed_at.replace(tzinfo=UTC).timestamp())
        for i, to, digest, claimed_at in rows
        if to and claimed_at
    }


def _take_orphans(engine: Engine, run_id: int, step: str, lease: Lease) -> dict[str | None, list[int]]:
    """Take under `lease` the step's messages in doubt whose claimer's lease is gone (or is `lease`
    itself, between two sends); returns the ids taken, by channel.

    Each group of messages is taken with a compare-and-set on the claimer it was read with: when two
    workers find the same orphans, the first update wins and the second takes none of them.
    """
    with engine.begin() as connection:
        rows = connection.execute(
            select(MESSAGES.c.id, MESSAGES.c.status, MESSAGES.c.claimed_by).where(
                MESSAGES.c.run_id == run_id, MESSAGES.c.step == step, MESSAGES.c.status.in_(IN_DOUBT)
            )
        ).all()
        live = held(connection, {claimer for _, _, claimer in rows if claimer != lease.id})
        groups: dict[tuple[str, str | None], list[int]] = {}
        for message_id, status, claimer in rows:
            if claimer not in live:
                groups.setdefault((status, claimer), []).append(message_id)
        taken: dict[str | None, list[int]] = {}
        for (status, claimer), ids in groups.items():
            for message_id, channel_name in connection.execute(
                update(MESSAGES)
                .where(
                    among(connection, MESSAGES.c.id, ids),
                    MESSAGES.c.status == status,
                    MESSAGES.c.claimed_by.is_not_distinct_from(claimer),
                )
                .values(claimed_by=lease.id)  # claimed_at stays: when the message was handed over
                .returning(MESSAGES.c.id, MESSAGES.c.channel)
            ):
                taken.setdefault(channel_name, []).append(message_id)
    return taken


def step_counts(engine: Engine, run_id: int, step: str) -> dict[tuple[str, str | None, str | None], int]:
    """(status, channel, reason) -> count for one step: the raw material of every report."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(Message.status, Message.channel, Message.reason, func.count())
            .where(Message.run_id == run_id, Message.step == step)
            .group_by(Message.status, Message.channel, Message.reason)
        ).all()
    return {(status, channel, reason): count for status, channel, reason, count in rows}
