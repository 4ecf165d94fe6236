"""The channel policy, branch by branch, each with the reason a report will show."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from outreach.delivery.policy import Decision, PersonFacts, PressureLimits, StepPolicy, decide

NOW = datetime(2026, 11, 26, 10, 0)
LIMITS = PressureLimits(caps={"email": 2, "sms": 1, "letter": 1}, window=timedelta(days=7))
EMAIL_THEN_SMS_THEN_LETTER = StepPolicy(channels=("email", "sms", "letter"))


def person(**facts) -> PersonFacts:  # type: ignore[no-untyped-def]
    """Nathalie Girard, reachable on every channel, at ease online; override any fact."""
    values = {
        "person_id": "1711086000123",
        "status": "active",
        "has_email": True,
        "has_mobile": True,
        "has_address": True,
        "digital_profile": "technophile",
    }
    values.update(facts)
    return PersonFacts(**values)


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        ({}, Decision("queued", "campaign_channel", "email", "standard")),
        ({"status": "deceased"}, Decision("excluded", "deceased")),
        ({"opted_out": frozenset({"all"})}, Decision("excluded", "opted_out")),
        ({"opted_out": frozenset({"email"})}, Decision("queued", "fallback_channel", "sms", "standard")),
        ({"suppressed": frozenset({"email"})}, Decision("queued", "fallback_channel", "sms", "standard")),
        (
            {"has_email": False, "has_mobile": False},
            Decision("queued", "fallback_channel", "letter", "standard"),
        ),
        ({"preferred_channel": "sms"}, Decision("queued", "preferred_channel", "sms", "standard")),
        ({"fragility_flags": "aah"}, Decision("queued", "fragile_letter", "letter", "fragile")),
        ({"digital_profile": "non_technophile"}, Decision("queued", "fragile_letter", "letter", "fragile")),
        (
            {"digital_profile": "non_technophile", "has_address": False},
            Decision("queued", "campaign_channel", "email", "fragile"),
        ),
        (
            {"has_email": False, "has_mobile": False, "has_address": False},
            Decision("excluded", "no_email"),
        ),
        (
            {"opted_out": frozenset({"email", "sms", "letter"})},
            Decision("excluded", "opted_out_email"),
        ),
        (
            {"suppressed": frozenset({"email", "sms"}), "has_address": False},
            Decision("excluded", "email_suppressed"),
        ),
    ],
)
def test_each_branch_of_the_policy(facts: dict, expected: Decision) -> None:
    assert decide(person(**facts), EMAIL_THEN_SMS_THEN_LETTER, LIMITS, NOW) == expected


def test_a_channel_at_its_cap_falls_back_then_defers() -> None:
    two_emails = person(recent_contacts={"email": 2})
    assert decide(two_emails, EMAIL_THEN_SMS_THEN_LETTER, LIMITS, NOW) == Decision(
        "queued", "pressure_fallback", "sms", "standard"
    )
    email_only = StepPolicy(channels=("email",))
    assert decide(two_emails, email_only, LIMITS, NOW) == Decision("deferred", "pressure_cap")
    one_email = person(recent_contacts={"email": 1})
    assert decide(one_email, email_only, LIMITS, NOW).status == "queued"


def test_mandatory_notices_are_never_capped_but_still_respect_a_no() -> None:
    mandatory = StepPolicy(channels=("letter",), mandatory=True)
    capped = person(recent_contacts={"letter": 5})
    assert decide(capped, mandatory, LIMITS, NOW).status == "queued"
    assert decide(person(opted_out=frozenset({"all"})), mandatory, LIMITS, NOW).reason == "opted_out"
    assert decide(person(status="deceased"), mandatory, LIMITS, NOW).reason == "deceased"


def test_a_recent_message_of_the_same_journey_defers() -> None:
    step = StepPolicy(channels=("email",), journey_gap=timedelta(days=14))
    assert decide(person(last_journey_contact=NOW - timedelta(days=3)), step, LIMITS, NOW) == Decision(
        "deferred", "journey_gap"
    )
    assert decide(person(last_journey_contact=NOW - timedelta(days=15)), step, LIMITS, NOW).status == "queued"


def test_a_fragile_person_keeps_the_letter_even_if_email_is_preferred() -> None:
    fragile = person(fragility_flags="rsa", preferred_channel="email")
    assert decide(fragile, EMAIL_THEN_SMS_THEN_LETTER, LIMITS, NOW).channel == "letter"
    no_letter_preference = StepPolicy(channels=("email", "letter"), prefer_letter_for_fragile=False)
    assert decide(fragile, no_letter_preference, LIMITS, NOW) == Decision(
        "queued", "preferred_channel", "email", "fragile"
    )


def test_a_step_without_channels_is_refused() -> None:
    with pytest.raises(ValueError, match="a step needs channels"):
        StepPolicy(channels=("fax",))
