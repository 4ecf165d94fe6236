"""Twilio: verify `X-Twilio-Signature`, then map status callbacks and inbound SMS to the vocabulary.

Status callbacks carry no event id: a status is reported once per message, so `MessageSid:status`
is the deduplication key (a retried callback is stored once). Inbound SMS are keyed by their own
`MessageSid`. Our message key travels in the StatusCallback URL (`?m=m123`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import parse_qsl

from twilio.request_validator import RequestValidator

from outreach.tracking.errors import BadSignature, Malformed
from outreach.tracking.events import Bounce, EventType, TrackingEvent
from outreach.tracking.stop import is_stop

SIGNATURE_HEADER = "X-Twilio-Signature"
MESSAGE_KEY_PARAM = "m"

STATUSES: dict[str, EventType] = {
    "accepted": EventType.QUEUED,
    "queued": EventType.QUEUED,
    "sending": EventType.QUEUED,
    "sent": EventType.SENT,
    "delivered": EventType.DELIVERED,
    "undelivered": EventType.FAILED,
    "failed": EventType.FAILED,
}

HARD_ERRORS = frozenset({"21211", "21614", "30005", "30006"})
"""Error codes that mean the number itself cannot receive SMS (invalid, not a mobile, unknown, landline).
Others (30003 unreachable, 30007 filtered, 30008 unknown error) are about this message only."""
UNSUBSCRIBED_ERROR = "21610"
"""The number has opted out at the carrier (replied STOP earlier): as good as a STOP to us."""


def verify(auth_token: str, url: str, params: Mapping[str, str], signature: str | None) -> None:
    """Raise `BadSignature` unless Twilio signed `params` posted to `url` (the public URL)."""
    if not signature or not RequestValidator(auth_token).validate(url, dict(params), signature):
        raise BadSignature("Twilio signature does not verify")


def parse_form(body: bytes) -> dict[str, str]:
    """An `application/x-www-form-urlencoded` body as a dict, or `Malformed`."""
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body)))
    except (UnicodeDecodeError, ValueError) as exc:
        raise Malformed("body is not a form") from exc


def status_event(params: Mapping[str, str], message_key: str | None, received_at: datetime) -> TrackingEvent:
    """One status callback; `Malformed` without a MessageSid or status."""
    sid = params.get("MessageSid") or params.get("SmsSid")
    status = params.get("MessageStatus") or params.get("SmsStatus")
    if not sid or not status:
        raise Malformed("status callback without MessageSid or MessageStatus")
    error = params.get("ErrorCode") or None
    event = STATUSES.get(status, EventType.UNKNOWN)
    bounce: Bounce | None = None
    if error == UNSUBSCRIBED_ERROR:
        event = EventType.UNSUBSCRIBED
    elif event is EventType.FAILED:
        bounce = "hard" if error in HARD_ERRORS else "soft"
    return TrackingEvent(
        provider="twilio",
        provider_event_id=f"{sid}:{status}"[:100],
        event=event,
        occurred_at=received_at,
        raw=_raw(params),
        message_key=message_key,
        provider_message_id=sid,
        channel="sms",
        contact=params.get("To") or None,
        reason=f"error {error}" if error else None,
        bounce=bounce,
    )


def inbound_event(params: Mapping[str, str], received_at: datetime) -> TrackingEvent:
    """An SMS a person sent us: an opt-out (`stop.is_stop`, or Twilio's `OptOutType=STOP`) is an
    unsubscribe, never a reply; anything else is a reply."""
    sid = params.get("MessageSid") or params.get("SmsSid")
    sender = params.get("From")
    if not sid or not sender:
        raise Malformed("inbound SMS without MessageSid or From")
    # With Advanced Opt-Out, Twilio has matched the Messaging Service's own keywords already.
    stop = params.get("OptOutType", "").upper() == "STOP" or is_stop(params.get("Body", ""))
    return TrackingEvent(
        provider="twilio",
        provider_event_id=sid[:100],
        event=EventType.UNSUBSCRIBED if stop else EventType.REPLIED,
        occurred_at=received_at,
        raw=_raw(params),
        channel="sms",
        contact=sender,
        reason="sms_stop" if stop else None,
    )


def _raw(params: Mapping[str, str]) -> str:
    return json.dumps(dict(params), ensure_ascii=False, separators=(",", ":"), sort_keys=True)
