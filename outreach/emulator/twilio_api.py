"""Twilio's Messages resource as the emulator understands it: validation, resource JSON, paging.

Field names, error codes and messages follow Twilio's API. The stored resource also keeps the
`status_callback` it was created with (the event engine posts there, and `/_emulator/messages` shows
it to tests), but like real Twilio the public API never returns it (`public`): a client must find its
messages by `To` and body.
"""

from __future__ import annotations

import os
import re
from email.utils import formatdate
from typing import Any
from urllib.parse import urlencode

from outreach.emulator.sms_segments import count_segments

API_VERSION = "2010-04-01"
MAX_BODY = 1600
_E164 = re.compile(r"^\+[1-9]\d{7,14}$")
_ALPHANUMERIC = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")
_SERVICE_SID = re.compile(r"^MG[0-9a-f]{32}$")


class TwilioError(Exception):
    """An error answer in Twilio's JSON shape."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, Any]:
        """Twilio's error JSON."""
        return {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }


def validate(form: dict[str, str]) -> None:
    """Raise the `TwilioError` Twilio would answer for this create-message form."""
    to = form.get("To")
    if not to:
        raise TwilioError(400, 21604, "A 'To' phone number is required.")
    if not _E164.match(to):
        raise TwilioError(400, 21211, f"Invalid 'To' Phone Number: {to}")
    sender, service = form.get("From"), form.get("MessagingServiceSid")
    if not sender and not service:
        raise TwilioError(400, 21603, "A 'From' phone number is required.")
    if sender and not (_E164.match(sender) or _ALPHANUMERIC.match(sender)):
        raise TwilioError(
            400,
            21212,
            f"The 'From' number {sender} is not a valid phone number, shortcode, or alphanumeric sender ID.",
        )
    if service and not _SERVICE_SID.match(service):
        raise TwilioError(400, 21701, f"The Messaging Service Sid {service} is invalid.")
    body = form.get("Body")
    if not body:
        raise TwilioError(400, 21602, "Message body is required.")
    if len(body) > MAX_BODY:
        raise TwilioError(400, 21617, "The concatenated message body exceeds the 1600 character limit.")


def new_resource(account_sid: str, form: dict[str, str], now: float) -> dict[str, Any]:
    """The Message resource Twilio answers with on creation (status `queued`)."""
    sid = "SM" + os.urandom(16).hex()
    date = formatdate(now, usegmt=True)
    uri = f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}"
    return {
        "account_sid": account_sid,
        "api_version": API_VERSION,
        "body": form["Body"],
        "date_created": date,
        "date_sent": None,
        "date_updated": date,
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": form.get("From"),
        "messaging_service_sid": form.get("MessagingServiceSid"),
        "num_media": "0",
        "num_segments": str(count_segments(form["Body"])),
        "price": None,
        "price_unit": "EUR",
        "sid": sid,
        "status": "queued",
        "subresource_uris": {"media": f"{uri}/Media.json", "feedback": f"{uri}/Feedback.json"},
        "to": form["To"],
        "uri": f"{uri}.json",
        "status_callback": form.get("StatusCallback"),
    }


def public(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource as Twilio's API answers it: without the StatusCallback it was created with."""
    return {name: value for name, value in resource.items() if name != "status_callback"}


def page(
    account_sid: str,
    sids_newest_first: list[str],
    resources: dict[str, dict[str, Any]],
    query: dict[str, str],
) -> dict[str, Any]:
    """One page of the Messages list, with Twilio's paging fields (`PageSize` at most 1000)."""
    size = max(1, min(int(query.get("PageSize", 50)), 1000))
    number = max(0, int(query.get("Page", 0)))
    start = number * size
    chosen = [resources[sid] for sid in sids_newest_first[start : start + size + 1]]
    more = len(chosen) > size
    chosen = chosen[:size]
    base = f"/{API_VERSION}/Accounts/{account_sid}/Messages.json"
    filters = {k: v for k, v in query.items() if k in ("To", "From")}

    def uri(page_number: int) -> str:
        params = {**filters, "PageSize": size, "Page": page_number}
        if page_number:
            params["PageToken"] = f"PA{page_number * size}"
        return f"{base}?{urlencode(params)}"

    return {
        "messages": [public(resource) for resource in chosen],
        "start": start,
        "end": start + max(len(chosen) - 1, 0),
        "page": number,
        "page_size": size,
        "uri": uri(number),
        "first_page_uri": uri(0),
        "next_page_uri": uri(number + 1) if more else None,
        "previous_page_uri": uri(number - 1) if number else None,
    }


def matching_sids(order: list[str], resources: dict[str, dict[str, Any]], query: dict[str, str]) -> list[str]:
    """Message sids newest first, filtered by `To` / `From` when given."""
    newest_first = order[::-1]
    to, sender = query.get("To"), query.get("From")
    if not to and not sender:
        return newest_first
    return [
        sid
        for sid in newest_first
        if (not to or resources[sid]["to"] == to) and (not sender or resources[sid]["from"] == sender)
    ]
