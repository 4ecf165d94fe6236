"""Provider settings from the environment, or from Prefect `Secret` blocks when a variable is absent.

A secret is looked up as the environment variable first (e.g. `SENDGRID_API_KEY`), then as the
Prefect Secret block of the same name in kebab case (`sendgrid-api-key`). A missing required value
is a `ConfigurationError` naming the variable and the block. Secrets are kept out of `repr` so they
never reach a log or a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from outreach.errors import ConfigurationError

SecretLoader = Callable[[str], str | None]


def prefect_secret(block_name: str) -> str | None:
    """The value of Prefect Secret block `block_name`, or None when there is no such block."""
    from prefect.blocks.system import Secret  # imported late: Prefect is slow to import

    try:
        return Secret.load(block_name).get()
    except ValueError:  # Prefect's answer for an unknown block
        return None


@dataclass(frozen=True)
class SendGridSettings:
    """What `SendGridChannel` needs."""

    api_key: str = field(repr=False)
    host: str
    sender_email: str
    sender_name: str | None
    sandbox: bool


@dataclass(frozen=True)
class TwilioSettings:
    """What `TwilioChannel` needs."""

    account_sid: str
    auth_token: str = field(repr=False)
    base_url: str | None
    sender: str
    status_callback: str | None
    rate_per_second: float
    concurrency: int = 32
    """Requests in flight at once: the rate can never pass concurrency / round-trip time."""


def block_name(variable: str) -> str:
    """The Prefect block consulted for `variable`: SENDGRID_API_KEY -> sendgrid-api-key."""
    return variable.lower().replace("_", "-")


class _Source:
    def __init__(self, env: Mapping[str, str] | None, secrets: SecretLoader | None) -> None:
        self._env = os.environ if env is None else env
        self._secrets = secrets or prefect_secret

    def optional(self, variable: str, default: str | None = None) -> str | None:
        value = self._env.get(variable)
        return value if value else default

    def secret(self, variable: str) -> str:
        value = self._env.get(variable) or self._secrets(block_name(variable))
        if not value:
            block = block_name(variable)
            raise ConfigurationError(
                f"{variable} is not set: export it or create the Prefect Secret block '{block}'"
            )
        return value

    def required(self, variable: str) -> str:
        value = self._env.get(variable)
        if not value:
            raise ConfigurationError(f"{variable} is not set")
        return value


def sendgrid_settings(
    env: Mapping[str, str] | None = None, secrets: SecretLoader | None = None
) -> SendGridSettings:
    """SendGrid settings: SENDGRID_API_KEY (secret), OUTREACH_SENDGRID_HOST, OUTREACH_EMAIL_FROM,
    OUTREACH_EMAIL_FROM_NAME, OUTREACH_SENDGRID_SANDBOX (1/true)."""
    source = _Source(env, secrets)
    return SendGridSettings(
        api_key=source.secret("SENDGRID_API_KEY"),
        host=source.optional("OUTREACH_SENDGRID_HOST", "https://api.sendgrid.com") or "",
        sender_email=source.required("OUTREACH_EMAIL_FROM"),
        sender_name=source.optional("OUTREACH_EMAIL_FROM_NAME"),
        sandbox=(source.optional("OUTREACH_SENDGRID_SANDBOX", "") or "").lower() in ("1", "true", "yes"),
    )


DEFAULT_SMS_CONCURRENCY = 32
"""Twilio requests in flight at once unless OUTREACH_SMS_CONCURRENCY says otherwise: against the local
emulator 8 to 64 made no difference, and 32 leaves slack for a real round trip."""


def twilio_settings(
    env: Mapping[str, str] | None = None, secrets: SecretLoader | None = None
) -> TwilioSettings:
    """Twilio settings: TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (secrets), OUTREACH_TWILIO_BASE_URL,
    OUTREACH_SMS_SENDER (alphanumeric or MG...), OUTREACH_SMS_STATUS_CALLBACK, OUTREACH_SMS_RATE,
    OUTREACH_SMS_CONCURRENCY."""
    source = _Source(env, secrets)
    rate = source.optional("OUTREACH_SMS_RATE", "10") or "10"
    try:
        rate_per_second = float(rate)
    except ValueError:
        raise ConfigurationError(
            f"OUTREACH_SMS_RATE must be a number of messages per second, not {rate!r}"
        ) from None
    in_flight = source.optional("OUTREACH_SMS_CONCURRENCY") or str(DEFAULT_SMS_CONCURRENCY)
    if not in_flight.isdigit() or int(in_flight) < 1:
        raise ConfigurationError(
            f"OUTREACH_SMS_CONCURRENCY must be a whole number of requests in flight (1 or more), "
            f"not {in_flight!r}; size it as the rate times Twilio's round trip (e.g. 1000/s x 0.15 s = 150)"
        )
    return TwilioSettings(
        account_sid=source.secret("TWILIO_ACCOUNT_SID"),
        auth_token=source.secret("TWILIO_AUTH_TOKEN"),
        base_url=source.optional("OUTREACH_TWILIO_BASE_URL"),
        sender=source.required("OUTREACH_SMS_SENDER"),
        status_callback=source.optional("OUTREACH_SMS_STATUS_CALLBACK"),
        rate_per_second=rate_per_second,
        concurrency=int(in_flight),
    )
