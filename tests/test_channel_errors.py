"""Classification of provider failures and the retry policy."""

from __future__ import annotations

import json
import random
import urllib.error

import pytest
import requests
from python_http_client.exceptions import HTTPError
from python_http_client.exceptions import err_dict as SENDGRID_ERRORS
from twilio.base.exceptions import TwilioRestException

from outreach.channels.errors import ProviderFault, classify
from outreach.channels.retry import RetryPolicy, with_retries


def sendgrid_error(status: int, body: dict | None = None, headers: dict | None = None) -> HTTPError:
    kind = SENDGRID_ERRORS.get(status, HTTPError)
    return kind(status, "reason", json.dumps(body or {}).encode(), headers or {})


def test_sendgrid_statuses() -> None:
    throttled = classify(sendgrid_error(429, headers={"Retry-After": "3"}))
    assert throttled is not None and (throttled.outcome, throttled.retry_after) == ("retry", 3.0)
    assert classify(sendgrid_error(500)).outcome == "retry"
    assert classify(sendgrid_error(503)).outcome == "retry"
    assert classify(sendgrid_error(504)).outcome == "ambiguous"  # the servers behind may have it
    refused = classify(
        sendgrid_error(400, {"errors": [{"message": "Does not contain a valid address.", "field": "x.to"}]})
    )
    assert (refused.outcome, refused.reason) == (
        "failed",
        "sendgrid 400: Does not contain a valid address. (x.to)",
    )
    assert classify(sendgrid_error(413)).outcome == "failed"
    assert classify(sendgrid_error(401)).outcome == "retry"  # an operator fixes the key; the message is fine


def test_twilio_statuses() -> None:
    invalid = classify(TwilioRestException(400, "/Messages.json", "Invalid 'To' Phone Number", code=21211))
    assert (invalid.outcome, invalid.reason) == ("failed", "twilio 21211: Invalid 'To' Phone Number")
    assert (
        classify(TwilioRestException(429, "/Messages.json", "Too Many Requests", code=20429)).outcome
        == "retry"
    )
    assert classify(TwilioRestException(503, "/Messages.json", "Unavailable", code=20503)).outcome == "retry"


def test_transport_failures() -> None:
    assert classify(urllib.error.URLError(ConnectionRefusedError(111, "refused"))).outcome == "retry"
    assert classify(TimeoutError()).outcome == "ambiguous"
    assert classify(requests.exceptions.ReadTimeout()).outcome == "ambiguous"
    assert classify(requests.exceptions.ConnectTimeout()).outcome == "retry"
    assert classify(ValueError("a bug")) is None


def test_full_jitter_stays_within_the_exponential_envelope() -> None:
    policy = RetryPolicy(attempts=6, base_delay=0.5, max_delay=4.0)
    rng = random.Random(1)
    for attempt in range(5):
        delays = [policy.delay(attempt, None, rng) for _ in range(200)]
        ceiling = min(4.0, 0.5 * 2**attempt)
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8
    assert policy.delay(5, None, rng) is None


def test_retry_after_is_honoured_unless_too_long() -> None:
    policy = RetryPolicy(attempts=3, base_delay=0.1, max_delay=5.0)
    assert 2.0 <= policy.delay(0, 2.0, random.Random(1)) <= 2.1
    assert policy.delay(0, 60.0, random.Random(1)) is None


def test_with_retries_retries_transient_faults_then_succeeds() -> None:
    calls, waits = [], []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise sendgrid_error(429, headers={"Retry-After": "1"})
        return "ok"

    assert with_retries(flaky, RetryPolicy(attempts=4, base_delay=0.01), sleep=waits.append) == "ok"
    assert len(calls) == 3 and len(waits) == 2 and all(1.0 <= w <= 1.01 for w in waits)


def test_with_retries_stops_at_once_on_permanent_or_ambiguous_faults() -> None:
    for error, outcome in ((sendgrid_error(400), "failed"), (TimeoutError(), "ambiguous")):
        calls: list[int] = []

        def call(error: Exception = error, calls: list[int] = calls) -> None:
            calls.append(1)
            raise error

        with pytest.raises(ProviderFault) as raised:
            with_retries(call, RetryPolicy(attempts=5), sleep=lambda _: None)
        assert raised.value.fault.outcome == outcome and len(calls) == 1


def test_with_retries_gives_up_after_its_attempts_and_lets_bugs_through() -> None:
    calls = []

    def failing() -> None:
        calls.append(1)
        raise sendgrid_error(500)

    with pytest.raises(ProviderFault) as raised:
        with_retries(failing, RetryPolicy(attempts=3), sleep=lambda _: None)
    assert raised.value.fault.outcome == "retry" and len(calls) == 3
    with pytest.raises(ZeroDivisionError):
        with_retries(lambda: 1 / 0, RetryPolicy(), sleep=lambda _: None)
