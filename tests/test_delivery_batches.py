"""Sending in batches with one batch in flight: the next is rendered meanwhile, claimed only when handed
over; a halt or another worker's claim leaves every message exactly where the state machine says."""

from __future__ import annotations

import gc
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from outreach.channels.base import OutgoingMessage, Reconciliation, SendResult
from outreach.delivery import pipeline
from outreach.delivery.collector import collector_paused
from outreach.delivery.pipeline import Arm, ClaimedMessage, StepHalted, StepSpec
from outreach.delivery.policy import PressureLimits, StepPolicy
from outreach.models import Message, Person
from outreach.rendering.errors import TemplateError
from tests.people import load, person

NOW = datetime(2026, 11, 26, 9, 30)
SPEC = StepSpec(
    campaign="essai",
    step="seule",
    journey="follow_career",
    policy=StepPolicy(channels=("email",)),
    arms=(Arm("main", 1.0, {("email", "standard"): "career_statement_35"}),),
)
BATCH = 10


class RecordingChannel:
    """An e-mail channel that keeps what it was given, and can wait for or fail on a given batch."""

    name = "email"
    max_batch = BATCH
    settle_seconds = 0.0
    reconciles_by_content = False

    def __init__(self, fail_on: int | None = None, hold_first: threading.Event | None = None) -> None:
        self.batches: list[list[str]] = []
        self.fail_on = fail_on
        self.hold_first = hold_first

    def send(self, batch: Sequence[OutgoingMessage]) -> list[SendResult]:
        self.batches.append([m.message_key for m in batch])
        if len(self.batches) == 1 and self.hold_first is not None:
            assert self.hold_first.wait(10), "the next batch was not rendered while this one was sent"
        if len(self.batches) == self.fail_on:
            raise TemplateError("letter/x.html", 3, "broken layout", "fix it")
        return [SendResult(m.message_key, "sent", provider_id=f"p{len(self.batches)}") for m in batch]

    def reconcile(self, message_keys: Sequence[str], handed: object = None) -> Reconciliation:
        return Reconciliation(found={})


def compose(message: ClaimedMessage, row: Mapping[str, Any]) -> OutgoingMessage:
    return OutgoingMessage(
        message.key, message.person_id, "email", row["email"], f"Bonjour {row['last_name']}"
    )


@pytest.fixture
def run_id(engine: Engine) -> int:
    load(engine, [person(i, date(1991, 11, 14)) for i in range(35)])
    run_id = pipeline.open_run(engine, "essai", "w1", date(2026, 11, 26))
    pipeline.plan(engine, run_id, SPEC, select(Person.person_id))
    pipeline.decide_step(engine, run_id, SPEC, PressureLimits(), NOW)
    return run_id


def rows(engine: Engine) -> dict[int, tuple[str, int, str | None]]:
    with engine.connect() as connection:
        found = connection.execute(select(Message.id, Message.status, Message.attempts, Message.provider_id))
        return {r.id: (r.status, r.attempts, r.provider_id) for r in found}


def send(engine: Engine, run_id: int, channel: RecordingChannel, composer: Any = compose) -> Any:
    return pipeline.send_step(engine, run_id, SPEC, {"email": channel}, composer, "w", clock=lambda: NOW)


def test_the_next_batch_is_rendered_while_one_is_sent_and_each_message_goes_once(
    engine: Engine, run_id: int
) -> None:
    rendered_second = threading.Event()
    seen: list[str] = []

    def composing(message: ClaimedMessage, row: Mapping[str, Any]) -> OutgoingMessage:
        seen.append(message.key)
        if len(seen) > BATCH:
            rendered_second.set()
        return compose(message, row)

    channel = RecordingChannel(hold_first=rendered_second)
    summary = send(engine, run_id, channel, composing)

    sent = [key for batch in channel.batches for key in batch]
    assert [len(b) for b in channel.batches] == [10, 10, 10, 5]
    assert len(sent) == len(set(sent)) == 35
    assert summary.count("sent") == 35
    assert {status for status, _, _ in rows(engine).values()} == {"sent"}
    assert {attempts for _, attempts, _ in rows(engine).values()} == {1}
    assert Counter(provider for _, _, provider in rows(engine).values()) == {
        "p1": 10,
        "p2": 10,
        "p3": 10,
        "p4": 5,
    }


def test_a_halt_in_the_channel_puts_its_batch_back_and_claims_nothing_more(
    engine: Engine, run_id: int
) -> None:
    channel = RecordingChannel(fail_on=2)
    with pytest.raises(StepHalted, match="broken layout"):
        send(engine, run_id, channel)
    states = Counter((status, attempts) for status, attempts, _ in rows(engine).values())
    assert states == {("sent", 1): 10, ("queued", 0): 25}  # the rendered third batch was never claimed


def test_a_broken_template_while_a_batch_is_in_flight_still_records_that_batch(
    engine: Engine, run_id: int
) -> None:
    def composing(message: ClaimedMessage, row: Mapping[str, Any]) -> OutgoingMessage:
        if message.id > BATCH + 3:
            raise TemplateError("mail/x.txt", 1, "broken", "fix it")
        return compose(message, row)

    with pytest.raises(StepHalted, match="broken"):
        send(engine, run_id, RecordingChannel(), composing)
    states = Counter((status, attempts) for status, attempts, _ in rows(engine).values())
    assert states == {("sent", 1): 10, ("queued", 0): 25}


def test_what_another_worker_claims_meanwhile_is_left_to_it(engine: Engine, run_id: int) -> None:
    taken = [13, 14, 30]

    def composing(message: ClaimedMessage, row: Mapping[str, Any]) -> OutgoingMessage:
        if message.id in taken:  # another worker claims it between this worker's render and claim
            with engine.begin() as connection:
                connection.execute(
                    update(Message)
                    .where(Message.id == message.id)
                    .values(status="sending", claimed_by="other")
                )
        return compose(message, row)

    channel = RecordingChannel()
    summary = send(engine, run_id, channel, composing)

    sent = {key for batch in channel.batches for key in batch}
    assert sent == {f"m{i}" for i in range(1, 36)} - {f"m{i}" for i in taken}
    assert summary.count("sent") == 32
    assert {rows(engine)[i][0] for i in taken} == {"sending"}


class FlakyChannel(RecordingChannel):
    """Answers `retry` (a transient fault that outlived the channel's own retries) once per chosen key."""

    def __init__(self, flaky: set[str]) -> None:
        super().__init__()
        self.flaky = set(flaky)

    def send(self, batch: Sequence[OutgoingMessage]) -> list[SendResult]:
        results = super().send(batch)
        failing, self.flaky = (
            self.flaky & {r.message_key for r in results},
            self.flaky - {r.message_key for r in results},
        )
        return [
            SendResult(r.message_key, "retry", reason="503") if r.message_key in failing else r
            for r in results
        ]


def test_messages_put_back_for_a_retry_are_sent_in_the_same_call(engine: Engine, run_id: int) -> None:
    summary = send(engine, run_id, FlakyChannel({"m3", "m34"}))  # m34: in the last batch
    states = rows(engine)
    assert {status for status, _, _ in states.values()} == {"sent"}
    assert {i for i, (_, attempts, _) in states.items() if attempts == 2} == {3, 34}
    assert summary.count("sent") == 35 and summary.count("retry") == 2


def test_the_collector_pause_always_ends_in_the_state_it_began_with() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        assert not gc.isenabled()
        with collector_paused():  # nested: the inner one found it off and leaves it off
            assert not gc.isenabled()
        assert not gc.isenabled()
        raise RuntimeError("a batch failed to build")
    assert gc.isenabled()
    gc.disable()  # an application that turned it off keeps it off
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
