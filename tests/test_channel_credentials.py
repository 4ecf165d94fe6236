"""Provider settings from the environment or secret blocks, with errors that name what is missing."""

from __future__ import annotations

import pytest

from outreach.channels.credentials import block_name, sendgrid_settings, twilio_settings
from outreach.errors import ConfigurationError


def no_blocks(_: str) -> None:
    return None


def test_sendgrid_from_the_environment() -> None:
    env = {
        "SENDGRID_API_KEY": "SG.secret-value",
        "OUTREACH_SENDGRID_HOST": "http://127.0.0.1:8025",
        "OUTREACH_EMAIL_FROM": "ne-pas-repondre@carsat-centreouest.fr",
        "OUTREACH_EMAIL_FROM_NAME": "CARSAT Centre-Ouest",
        "OUTREACH_SENDGRID_SANDBOX": "true",
    }
    settings = sendgrid_settings(env, no_blocks)
    assert (settings.api_key, settings.host, settings.sandbox) == (
        "SG.secret-value",
        "http://127.0.0.1:8025",
        True,
    )
    assert "SG.secret-value" not in repr(settings)


def test_a_secret_block_fills_a_missing_variable() -> None:
    blocks = {"twilio-account-sid": "AC123", "twilio-auth-token": "tok-secret"}
    settings = twilio_settings({"OUTREACH_SMS_SENDER": "CARSAT"}, blocks.get)
    assert (settings.account_sid, settings.auth_token, settings.rate_per_second) == (
        "AC123",
        "tok-secret",
        10.0,
    )
    assert "tok-secret" not in repr(settings)
    assert block_name("SENDGRID_API_KEY") == "sendgrid-api-key"


def test_a_missing_secret_names_the_variable_and_the_block() -> None:
    with pytest.raises(ConfigurationError, match=r"TWILIO_AUTH_TOKEN is not set.*'twilio-auth-token'"):
        twilio_settings({"TWILIO_ACCOUNT_SID": "AC1", "OUTREACH_SMS_SENDER": "CARSAT"}, no_blocks)
    with pytest.raises(ConfigurationError, match="OUTREACH_EMAIL_FROM is not set"):
        sendgrid_settings({"SENDGRID_API_KEY": "k"}, no_blocks)
    with pytest.raises(ConfigurationError, match="OUTREACH_SMS_RATE"):
        twilio_settings({"OUTREACH_SMS_RATE": "vite"}, no_blocks)
    with pytest.raises(ConfigurationError, match="OUTREACH_SMS_CONCURRENCY must be a whole number"):
        twilio_settings({"OUTREACH_SMS_CONCURRENCY": "0"}, no_blocks)


def test_the_sms_requests_in_flight_are_configurable() -> None:
    blocks = {"twilio-account-sid": "AC123", "twilio-auth-token": "tok-secret"}
    env = {"OUTREACH_SMS_SENDER": "CARSAT", "OUTREACH_SMS_CONCURRENCY": "150"}
    assert twilio_settings(env, blocks.get).concurrency == 150
    assert twilio_settings({"OUTREACH_SMS_SENDER": "CARSAT"}, blocks.get).concurrency == 32
