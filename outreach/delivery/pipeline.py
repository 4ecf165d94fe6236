"""The sending pipeline of one campaign step: plan, decide, then claim-render-send in batches.

Every stage is a set operation or a batch, and every stage is safe to run again:

- `plan` writes one `messages` row per audience member (INSERT ... SELECT; the unique key
  (run, step, person) makes a second plan a no-op) and gives deferred people another chance;
- `decide` applies the channel policy chunk by chunk: queued with a channel, excluded or deferred
  with a reason, or held out as the control group;
- `send` claims a batch (`sending`, committed *before* the provider is called — the guard against a
  second send), renders it, hands it to the channel and records each outcome; on PostgreSQL, workers
  claim with `FOR UPDATE SKIP LOCKED`, so any number of them can share a step;
- `recover` settles what a crash or a timeout left `sending` or `ambiguous` by asking the provider
  (reconciliation): found means sent, not found means it never left and is queued again.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Select, and_, bindparam, func, literal, select, text, true, update
from sqlalchemy.dialects import postgresql, sqlite

from outreach.channels.base import Channel, OutgoingMessage, SendResult
from outreach.clock import utcnow
from outreach.delivery.facts import load_facts
from outreach.delivery.policy import Decision, PressureLimits, StepPolicy, decide
from outreach.delivery.windows import DEFAULT_WINDOWS, SendWindow
from outreach.models import CampaignRun, Message, Person
from outreach.rendering.errors import RenderError, TemplateError

MESSAGES = Message.__table__
ANALYZE_AFTER = 10_000
"""Planned rows after which PostgreSQL's statistics on `messages` are refreshed."""
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
    """A message a worker holds while it renders and sends it."""

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
    """Apply the channel policy to every planned message of the step; returns counts by reason."""
    now = now or utcnow()
    reasons: Counter[str] = Counter()
    decision_update = (
        update(MESSAGES)
        # only rows still planned: another worker deciding the same step must not re-queue what this
        # one already claimed (that would be a second send)
        .where(MESSAGES.c.id == bindparam("message_id"), MESSAGES.c.status == "planned")
        .values(
            status=bindparam("new_status"),
            reason=bindparam("new_reason"),
            channel=bindparam("new_channel"),
            variant=bindparam("new_variant"),
            template=bindparam("new_template"),
            arm=bindparam("new_arm"),
            planned_at=now,
        )
    )
    with engine.connect() as connection:
        ids = connection.scalars(
            select(Message.id)
            .where(Message.run_id == run_id, Message.step == spec.step, Message.status == "planned")
            .order_by(Message.id)
        ).all()
    for start in range(0, len(ids), chunk):
        low, high = (ids[start - 1] if start else 0), ids[min(start + chunk, len(ids)) - 1]
        with engine.begin() as connection:
            facts = load_facts(
                connection, run_id, spec.campaign, spec.step, spec.journey, low, high, limits, now
            )
            rows = []
            for message_id, person in facts.items():
                decision = decide(person, spec.policy, limits, now)
                if decision.status == "queued" and spec.in_holdout(person.person_id):
                    decision = Decision("holdout", "holdout", decision.channel, decision.variant)
                reasons[decision.reason] += 1
                arm = spec.arm_for(person.person_id) if decision.channel else None
                template = arm.template_for(decision.channel, decision.variant) if arm else None
                rows.append(
                    {
                        "message_id": message_id,
                        "new_status": decision.status,
                        "new_reason": decision.reason,
                        "new_channel": decision.channel,
                        "new_variant": decision.variant,
                        "new_template": template,
                        "new_arm": arm.name if arm else None,
                    }
                )
            if rows:
                connection.execute(decision_update, rows)
    return reasons


def _claim(
    engine: Engine,
    run_id: int,
    step: str,
    channel: str,
    size: int,
    worker: str,
    max_attempts: int,
    now: datetime,
) -> list[ClaimedMessage]:
    """Mark up to `size` queued messages as `sending` for `worker`, committed before any provider call."""
    candidates = (
        select(Message.id)
        .where(
            Message.run_id == run_id,
            Message.step == step,
            Message.channel == channel,
            Message.status == "queued",
            Message.attempts < max_attempts,
        )
        .order_by(Message.id)
        .limit(size)
        .with_for_update(skip_locked=True)
    )
    with engine.begin() as connection:
        claimed = connection.execute(
            update(Message)
            .where(Message.id.in_(candidates.scalar_subquery()))
            .values(status="sending", claimed_by=worker, claimed_at=now, attempts=Message.attempts + 1)
            .returning(Message.id, Message.person_id, Message.channel, Message.template, Message.variant)
        ).all()
    return sorted((ClaimedMessage(*row) for row in claimed), key=lambda m: m.id)


def _people(engine: Engine, batch: list[ClaimedMessage]) -> dict[str, Mapping[str, Any]]:
    """The `people` rows of a claimed batch (read once per batch, not once per message)."""
    people = PEOPLE.select().where(PEOPLE.c.person_id.in_([m.person_id for m in batch]))
    with engine.connect() as connection:
        return {row["person_id"]: row for row in connection.execute(people).mappings()}


RESULT_UPDATE = (
    update(MESSAGES)
    .where(MESSAGES.c.id == bindparam("message_id"), MESSAGES.c.status == "sending")
    .values(
        status=bindparam("new_status"),
        provider_id=bindparam("new_provider_id"),
        detail=bindparam("new_detail"),
        reason=func.coalesce(
            bindparam("new_reason"), MESSAGES.c.reason
        ),  # a send keeps the decision's reason
        sms_segments=bindparam("new_segments"),
        sent_at=bindparam("new_sent_at"),
    )
)
STATUS_FOR_OUTCOME = {"sent": "sent", "failed": "failed", "retry": "queued", "ambiguous": "ambiguous"}


def _record(engine: Engine, results: list[tuple[int, SendResult]], now: datetime) -> None:
    rows = [
        {
            "message_id": message_id,
            "new_status": STATUS_FOR_OUTCOME[result.outcome],
            "new_provider_id": result.provider_id,
            "new_detail": result.reason,
            "new_reason": None if result.outcome in ("sent", "retry") else f"provider_{result.outcome}",
            "new_segments": result.segments,
            "new_sent_at": now if result.outcome == "sent" else None,
        }
        for message_id, result in results
    ]
    if rows:
        with engine.begin() as connection:
            connection.execute(RESULT_UPDATE, rows)


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
        while budget > 0:
            batch = _claim(
                engine,
                run_id,
                spec.step,
                channel_name,
                int(min(channel.max_batch, budget)),
                worker,
                max_attempts,
                clock(),
            )
            if not batch:
                break
            budget -= len(batch)
            if before_send:
                before_send(channel_name, len(batch))
            _send_batch(engine, batch, channel, compose, summary, clock)
            if on_progress:
                on_progress(summary)
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


def _send_batch(
    engine: Engine,
    batch: list[ClaimedMessage],
    channel: Channel,
    compose: Composer,
    summary: SendSummary,
    clock: Callable[[], datetime],
) -> None:
    """Render and send one claimed batch; a broken template puts the whole batch back and halts."""
    people = _people(engine, batch)
    outgoing: list[OutgoingMessage] = []
    results: list[tuple[int, SendResult]] = []
    ids = {}
    for message in batch:
        try:
            rendered = compose(message, people[message.person_id])
        except TemplateError as exc:
            _release(engine, batch)
            raise StepHalted(f"template problem, step halted and its messages kept queued: {exc}") from exc
        except RenderError as exc:
            results.append((message.id, SendResult(message.key, "failed", reason=f"render: {exc}")))
            continue
        outgoing.append(rendered)
        ids[rendered.message_key] = message.id
    if outgoing:
        try:
            sent = channel.send(outgoing)
        except TemplateError as exc:  # letters are laid out inside the print channel
            _release(engine, batch)
            raise StepHalted(f"template problem, step halted and its messages kept queued: {exc}") from exc
        results += [(ids[r.message_key], r) for r in sent]
    _record(engine, results, clock())
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


def recover(
    engine: Engine,
    run_id: int,
    step: str,
    channels: Mapping[str, Channel],
    stale_after: timedelta = timedelta(minutes=10),
    now: datetime | None = None,
) -> Counter[str]:
    """Settle messages a crash left `sending` (older than `stale_after`) and every `ambiguous` one.

    The provider is asked which it received: those are sent; the others never left and are queued
    again. A channel that cannot tell leaves them as they are (`unresolved`), for an operator.
    """
    now = now or utcnow()
    settled: Counter[str] = Counter()
    stuck = and_(
        Message.run_id == run_id,
        Message.step == step,
        (Message.status == "ambiguous")
        | ((Message.status == "sending") & (Message.claimed_at < now - stale_after)),
    )
    with engine.connect() as connection:
        rows = connection.execute(select(Message.id, Message.channel).where(stuck)).all()
    by_channel: dict[str, list[int]] = {}
    for message_id, channel_name in rows:
        by_channel.setdefault(channel_name, []).append(message_id)
    for channel_name, message_ids in by_channel.items():
        channel = channels.get(channel_name)
        if channel is None:
            settled["unknown_channel"] += len(message_ids)
            continue
        answer = channel.reconcile([message_key(i) for i in message_ids])
        found = answer.found
        sent = [
            {"message_id": i, "provider": found[message_key(i)]}
            for i in message_ids
            if message_key(i) in found
        ]
        # Without a complete answer, "not found" proves nothing: those stay as they are, for a person.
        lost = [i for i in message_ids if message_key(i) not in found] if answer.complete else []
        with engine.begin() as connection:
            if sent:
                connection.execute(
                    update(MESSAGES)
                    .where(MESSAGES.c.id == bindparam("message_id"))
                    .values(status="sent", provider_id=bindparam("provider"), sent_at=now, reason=None),
                    sent,
                )
            if lost:
                connection.execute(
                    update(Message)
                    .where(Message.id.in_(lost))
                    .values(status="queued", claimed_by=None, claimed_at=None, reason=None)
                )
        settled["sent"] += len(sent)
        settled["requeued"] += len(lost)
        settled["unresolved"] += len(message_ids) - len(sent) - len(lost)
    return settled


def step_counts(engine: Engine, run_id: int, step: str) -> dict[tuple[str, str | None, str | None], int]:
    """(status, channel, reason) -> count for one step: the raw material of every report."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(Message.status, Message.channel, Message.reason, func.count())
            .where(Message.run_id == run_id, Message.step == step)
            .group_by(Message.status, Message.channel, Message.reason)
        ).all()
    return {(status, channel, reason): count for status, channel, reason, count in rows}
