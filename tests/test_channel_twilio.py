"""TwilioChannel through the real SDK over HTTP against the emulator (no mocks)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pytest
from aiohttp import ConnectionTimeoutError, ServerDisconnectedError, SocketTimeoutError

from outreach.channels.base import OutgoingMessage
from outreach.channels.retry import RetryPolicy
from outreach.channels.twilio_sms import TokenBucket, TwilioChannel
from outreach.channels.twilio_transport import classify_transport
from outreach.emulator.config import EmulatorConfig, Faults
from outreach.emulator.running import EmulatorHandle, running_emulator

CALLBACK = "http://127.0.0.1:9/twilio/status?message_key={message_key}"
"""Nobody listens there; the emulator posts no status callbacks anyway (events off), since these tests
do not need them and hundreds of refused posts, retried, would slow the emulator sharing our GIL."""
FAST = RetryPolicy(attempts=8, base_delay=0.01, max_delay=1.0)


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorHandle]:
    with running_emulator(EmulatorConfig(seed=5, events=False)) as handle:
        yield handle


@pytest.fixture(autouse=True)
def clean(emulator: EmulatorHandle) -> None:
    emulator.configure(twilio_faults=Faults(), seed=5)
    emulator.reset()


def channel(emulator: EmulatorHandle, **options: object) -> TwilioChannel:
    settings = {
        "sender": "CARSAT",
        "base_url": emulator.twilio_base,
        "status_callback": CALLBACK,
        "rate_per_second": 1000.0,
        "concurrency": 4,
        "timeout": 5.0,
        "retry": FAST,
    }
    return TwilioChannel(emulator.account_sid, emulator.auth_token, **(settings | options))


def sms(index: int, body: str | None = None, to: str | None = None) -> OutgoingMessage:
    return OutgoingMessage(
        message_key=f"run3/step2/person{index:04d}",
        person_id=f"P{index:04d}",
        channel="sms",
        to=to or f"+3361234{index:04d}",
        body=body or f"CARSAT : votre relevé de carrière n°{index} est prêt. STOP au 36180",
    )


def test_each_message_is_one_call_with_its_key_in_the_callback(emulator: EmulatorHandle) -> None:
    batch = [sms(i) for i in range(20)]
    sender = channel(emulator)
    results = {r.message_key: r for r in sender.send(batch)}
    sender.close()

    assert {r.outcome for r in results.values()} == {"sent"}
    resources = {m["sid"]: m for m in emulator.messages()["twilio"]}
    assert len(resources) == 20
    for message in batch:
        resource = resources[results[message.message_key].provider_id]
        assert resource["body"] == message.body
        assert resource["to"] == message.to
        assert resource["from"] == "CARSAT"
        assert resource["status_callback"].endswith("message_key=" + quote(message.message_key, safe=""))


def test_segments_follow_the_encoding(emulator: EmulatorHandle) -> None:
    gsm = "Votre dossier de retraite est complet. Rendez-vous à l'agence de Poitiers. "  # é à: GSM-7
    ucs2 = "Votre rendez-vous « Préparer ma retraite » : l’agence vous attend."  # « » ’: UCS-2
    bodies = [gsm * 2, gsm * 3, ucs2, ucs2 * 2, "À bientôt"]  # ô is not GSM-7 either
    assert (len(gsm * 2), len(gsm * 3), len(ucs2), len(ucs2 * 2)) == (150, 225, 66, 132)
    sender = channel(emulator)
    results = sender.send([sms(i, body) for i, body in enumerate(bodies)])
    sender.close()
    assert [r.segments for r in sorted(results, key=lambda r: r.message_key)] == [1, 2, 1, 2, 1]


def test_a_messaging_service_sender(emulator: EmulatorHandle) -> None:
    service = "MG" + "a" * 32
    sender = channel(emulator, sender=service)
    (result,) = sender.send([sms(1)])
    sender.close()
    assert result.outcome == "sent"
    (resource,) = emulator.messages()["twilio"]
    assert resource["messaging_service_sid"] == service
    assert resource["from"] is None


def test_an_invalid_number_fails_alone_with_twilios_reason(emulator: EmulatorHandle) -> None:
    batch = [sms(1), sms(2, to="06 12 34 56 78"), sms(3)]
    sender = channel(emulator)
    results = {r.message_key: r for r in sender.send(batch)}
    sender.close()
    assert results[batch[1].message_key].outcome == "failed"
    reason = results[batch[1].message_key].reason or ""
    assert reason.startswith("twilio 21211: ") and "Invalid 'To' Phone Number" in reason
    assert results[batch[0].message_key].outcome == results[batch[2].message_key].outcome == "sent"


def test_the_rate_holds_across_the_pool(emulator: EmulatorHandle) -> None:
    count, rate = 40, 50.0
    sender = channel(emulator, rate_per_second=rate, concurrency=8)
    started = time.monotonic()
    results = sender.send([sms(i) for i in range(count)])
    elapsed = time.monotonic() - started
    sender.close()
    assert {r.outcome for r in results} == {"sent"}
    assert elapsed >= (count - 1) / rate * 0.95
    assert elapsed < (count / rate) + 2


def test_the_rate_holds_with_many_requests_in_flight(emulator: EmulatorHandle) -> None:
    count, rate = 200, 400.0
    sender = channel(emulator, rate_per_second=rate, concurrency=64)
    started = time.monotonic()
    results = sender.send([sms(i) for i in range(count)])
    elapsed = time.monotonic() - started
    sender.close()
    assert {r.outcome for r in results} == {"sent"}
    assert elapsed >= (count - 1) / rate * 0.95
    assert emulator.stats()["twilio_accepted"] == count


def test_channels_sharing_a_bucket_share_its_rate(emulator: EmulatorHandle) -> None:
    bucket = TokenBucket(rate=100.0)
    senders = [channel(emulator, bucket=bucket, concurrency=16) for _ in range(2)]
    batches = [[sms(i) for i in range(30)], [sms(i) for i in range(100, 130)]]
    started = time.monotonic()
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda pair: pair[0].send(pair[1]), zip(senders, batches, strict=True)))
    elapsed = time.monotonic() - started
    for sender in senders:
        sender.close()
    assert {r.outcome for batch in results for r in batch} == {"sent"}
    assert elapsed >= 59 / 100 * 0.95


def test_a_token_bucket_allows_its_burst_then_paces() -> None:
    bucket = TokenBucket(rate=100.0, burst=5)
    assert [bucket.reserve() for _ in range(5)] == [0.0] * 5
    waits = [bucket.reserve() for _ in range(10)]
    assert waits == sorted(waits)
    assert 0.09 <= waits[-1] <= 0.11


def test_throttling_and_server_errors_are_retried_until_sent(emulator: EmulatorHandle) -> None:
    emulator.configure(twilio_faults=Faults(rate_429=0.2, rate_500=0.1, rate_503=0.1, retry_after=0.02))
    sender = channel(emulator, concurrency=1)  # one thread: the seeded fault draws repeat exactly
    results = sender.send([sms(i) for i in range(60)])
    sender.close()
    stats = emulator.stats()
    assert [r.reason for r in results if r.outcome != "sent"] == []
    assert stats.get("twilio_fault_429", 0) > 0
    assert stats["twilio_accepted"] == 60


def test_a_gateway_timeout_after_acceptance_is_ambiguous_not_resent(emulator: EmulatorHandle) -> None:
    # the emulator stores the message, then answers 504 before the client's own timeout
    emulator.configure(twilio_faults=Faults(accept_then_timeout=1.0, hold_seconds=0.2))
    sender = channel(emulator, timeout=5.0)
    (result,) = sender.send([sms(40)])
    sender.close()
    assert result.outcome == "ambiguous"
    assert len(emulator.messages()["twilio"]) == 1  # one call: a retry would have sent it twice


def test_a_timeout_after_acceptance_is_ambiguous_and_reconcile_finds_it(emulator: EmulatorHandle) -> None:
    emulator.configure(twilio_faults=Faults(accept_then_timeout=1.0, hold_seconds=5))
    batch = [sms(i) for i in range(4)]
    sender = channel(emulator, timeout=1.5)
    results = sender.send(batch)
    assert {r.outcome for r in results} == {"ambiguous"}

    emulator.configure(twilio_faults=Faults())
    sender.send([sms(i) for i in range(10, 30)])  # unrelated messages around them
    found = sender.reconcile([m.message_key for m in batch] + [sms(99).message_key]).found
    sender.close()
    assert set(found) == {m.message_key for m in batch}
    assert all(sid.startswith("SM") for sid in found.values())


def test_reconcile_finds_by_number_and_body_not_by_an_echoed_callback(emulator: EmulatorHandle) -> None:
    """Real Twilio does not return StatusCallback: the messages are recognised by number and body."""
    emulator.configure(twilio_faults=Faults(accept_then_timeout=1.0, hold_seconds=5))
    batch = [sms(i) for i in range(3)]
    sender = channel(emulator, timeout=1.5)
    assert {r.outcome for r in sender.send(batch)} == {"ambiguous"}
    emulator.configure(twilio_faults=Faults())
    others = [sms(50, to=batch[0].to), sms(51, body=batch[1].body)]  # same number / same text, not ours
    channel(emulator).send(others)

    answer = sender.reconcile([m.message_key for m in batch])
    sender.close()
    stored = {m["sid"]: m for m in emulator.messages()["twilio"]}
    assert answer.complete and set(answer.found) == {m.message_key for m in batch}
    for message in batch:
        resource = stored[answer.found[message.message_key]]
        assert (resource["to"], resource["body"]) == (message.to, message.body)


def test_an_sms_that_never_reached_twilio_is_not_found_for_sure(emulator: EmulatorHandle) -> None:
    emulator.configure(twilio_faults=Faults(rate_503=1.0, retry_after=0.01))
    sender = channel(emulator, retry=RetryPolicy(attempts=2, base_delay=0.01))
    (result,) = sender.send([sms(7)])
    assert result.outcome == "retry"
    emulator.configure(twilio_faults=Faults())
    channel(emulator).send([sms(8, body=sms(7).body)])  # the same text to someone else
    answer = sender.reconcile([sms(7).message_key])
    sender.close()
    assert (answer.found, answer.complete) == ({}, True)


def test_a_key_this_channel_never_sent_cannot_be_told(emulator: EmulatorHandle) -> None:
    """A crash in another process: without its number and body, "not found" would prove nothing."""
    channel(emulator).send([sms(3)])
    stranger = channel(emulator)
    answer = stranger.reconcile([sms(3).message_key, sms(4).message_key])
    stranger.close()
    assert answer.complete is False and answer.found == {}


def test_two_identical_sms_to_one_number_are_matched_by_count(emulator: EmulatorHandle) -> None:
    body, to = "CARSAT : votre RDV du 12/03 à 10h est confirmé. STOP 36180", "+33612340001"
    twins = [sms(1, body=body, to=to), sms(2, body=body, to=to)]
    emulator.configure(twilio_faults=Faults(accept_then_timeout=1.0, hold_seconds=5))
    sender = channel(emulator, timeout=1.5)
    assert sender.send(twins[:1])[0].outcome == "ambiguous"  # this one reached Twilio...
    emulator.configure(twilio_faults=Faults(rate_503=1.0, retry_after=0.01))
    assert sender.send(twins[1:])[0].outcome == "retry"  # ...this one did not
    emulator.configure(twilio_faults=Faults())
    answer = sender.reconcile([m.message_key for m in twins])
    sender.close()
    (sid,) = [m["sid"] for m in emulator.messages()["twilio"]]
    assert answer.complete and list(answer.found.values()) == [sid]  # one listed message, one key


def test_an_unreachable_provider_is_a_transient_fault() -> None:
    sender = TwilioChannel(
        "AC" + "0" * 32,
        "token",
        sender="CARSAT",
        base_url="http://127.0.0.1:9",
        retry=RetryPolicy(attempts=2, base_delay=0.01),
    )
    (result,) = sender.send([sms(1)])
    sender.close()
    assert (result.outcome, result.reason) == ("retry", "connection refused")


def test_faults_under_concurrency_are_retried_and_each_message_is_held_once(emulator: EmulatorHandle) -> None:
    emulator.configure(twilio_faults=Faults(rate_429=0.1, rate_500=0.05, rate_503=0.05, retry_after=0.02))
    batch = [sms(i) for i in range(200)]
    sender = channel(emulator, concurrency=16)
    results = sender.send(batch)
    sender.close()
    assert [r.reason for r in results if r.outcome != "sent"] == []
    assert sorted(r.message_key for r in results) == sorted(m.message_key for m in batch)
    stats = emulator.stats()
    assert stats["twilio_accepted"] == 200
    assert stats.get("twilio_fault_429", 0) + stats.get("twilio_fault_500", 0) > 0
    callbacks = [m["status_callback"] for m in emulator.messages()["twilio"]]
    assert len(callbacks) == len(set(callbacks)) == 200


def test_a_retry_after_beyond_the_policy_leaves_each_message_queued_after_one_call(
    emulator: EmulatorHandle,
) -> None:
    emulator.configure(twilio_faults=Faults(rate_429=1.0, retry_after=5))
    sender = channel(emulator, concurrency=8)  # FAST waits at most 1 s: each task must see its own 5 s
    results = sender.send([sms(i) for i in range(16)])
    sender.close()
    assert {(r.outcome, r.reason) for r in results} == {
        ("retry", "twilio 20429: Unable to create record: Too Many Requests")
    }
    assert emulator.stats()["twilio_fault_429"] == 16


def test_a_held_request_times_out_as_ambiguous(emulator: EmulatorHandle) -> None:
    """The SDK's own async client would wait forever here: it drops its timeout."""
    emulator.configure(twilio_faults=Faults(timeout=1.0, hold_seconds=5))
    sender = channel(emulator, timeout=1.0)
    started = time.monotonic()
    (result,) = sender.send([sms(1)])
    assert time.monotonic() - started < 3
    assert (result.outcome, result.reason) == ("ambiguous", "no answer within the timeout after sending")
    emulator.configure(twilio_faults=Faults())
    answer = sender.reconcile([sms(1).message_key])
    sender.close()
    assert (answer.found, answer.complete) == ({}, True)


def test_aiohttp_failures_are_classified_by_whether_the_request_left() -> None:
    assert classify_transport(ConnectionTimeoutError()).outcome == "retry"  # type: ignore[union-attr]
    assert classify_transport(SocketTimeoutError()).outcome == "ambiguous"  # type: ignore[union-attr]
    assert classify_transport(ServerDisconnectedError()).outcome == "ambiguous"  # type: ignore[union-attr]
    assert classify_transport(ValueError("a bug")) is None


def test_send_works_from_inside_a_running_event_loop(emulator: EmulatorHandle) -> None:
    sender = channel(emulator)

    async def from_a_coroutine() -> list[str]:
        return [r.outcome for r in sender.send([sms(1), sms(2)])]

    assert asyncio.run(from_a_coroutine()) == ["sent", "sent"]
    sender.close()


def test_close_stops_the_channels_thread_and_can_be_repeated(emulator: EmulatorHandle) -> None:
    before = threading.active_count()
    sender = channel(emulator)
    sender.send([sms(1)])
    assert threading.active_count() == before + 1
    sender.close()
    sender.close()
    assert threading.active_count() == before
