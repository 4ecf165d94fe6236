"""Which channel serves each of e-mail, SMS and letters, from the environment.

With no provider configured (the embedded default), e-mail and SMS go to an outbox folder and letters
to a local print drop folder: everything works, nothing leaves the machine. Setting the SendGrid or
Twilio variables (or pointing them at the local emulator) switches that channel to its provider.
"""

from __future__ import annotations

import os
from pathlib import Path

from outreach.channels.base import PROVIDER_SETTLE_SECONDS, Channel
from outreach.channels.credentials import sendgrid_settings, twilio_settings
from outreach.channels.outbox import OutboxChannel
from outreach.channels.print_batch import DropFolder, PrintChannel
from outreach.channels.sendgrid_email import SendGridChannel
from outreach.channels.twilio_sms import TwilioChannel
from outreach.config import var_dir
from outreach.errors import ConfigurationError
from outreach.rendering.renderer import Renderer


def build_channels(renderer: Renderer, status_callback: str | None = None) -> dict[str, Channel]:
    """The channel for each of email, sms and letter, as the environment configures them.

    `status_callback` (a URL template with `{message_key}`) is where Twilio reports SMS deliveries;
    OUTREACH_SMS_STATUS_CALLBACK overrides it.
    """
    outbox = var_dir() / "outbox"
    settle = settle_seconds()
    channels: dict[str, Channel] = {}
    if os.environ.get("SENDGRID_API_KEY"):
        settings = sendgrid_settings()
        channels["email"] = SendGridChannel(
            settings.api_key,
            host=settings.host,
            sender=(settings.sender_email, settings.sender_name),
            sandbox=settings.sandbox,
            categories=("outreach",),
            settle_seconds=settle,
        )
    else:
        channels["email"] = OutboxChannel(outbox / "email", "email")
    if os.environ.get("TWILIO_ACCOUNT_SID"):
        settings_sms = twilio_settings()
        channels["sms"] = TwilioChannel(
            settings_sms.account_sid,
            settings_sms.auth_token,
            sender=settings_sms.sender,
            base_url=settings_sms.base_url,
            status_callback=settings_sms.status_callback or status_callback,
            rate_per_second=settings_sms.rate_per_second,
            concurrency=settings_sms.concurrency,
            settle_seconds=settle,
        )
    else:
        channels["sms"] = OutboxChannel(outbox / "sms", "sms")
    drop = Path(os.environ.get("OUTREACH_PRINT_DROP_DIR", outbox / "print"))
    channels["letter"] = PrintChannel(renderer, DropFolder(drop), work_dir=var_dir() / "print-work")
    return channels


def settle_seconds() -> float:
    """OUTREACH_RECONCILE_SETTLE_SECONDS: how long recovery waits for a provider's lookup to show what a
    crashed worker may have had in flight, before it queues "not found" messages again."""
    value = os.environ.get("OUTREACH_RECONCILE_SETTLE_SECONDS", "").strip()
    if not value:
        return PROVIDER_SETTLE_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if seconds < 0:
        raise ConfigurationError(
            f"OUTREACH_RECONCILE_SETTLE_SECONDS must be a number of seconds (0 or more), not {value!r}"
        )
    return seconds
