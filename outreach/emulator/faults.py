"""Fault injection on the send endpoints: draw a fault per request, answer like the provider would.

Faults apply to `POST /v3/mail/send` and `POST .../Messages.json` only; lookups used by
reconciliation always answer, so a test can resolve what the faults made ambiguous.
"""

from __future__ import annotations

import asyncio
import random
from typing import Literal

from starlette.responses import JSONResponse, Response

from outreach.emulator.config import Faults

Fault = Literal["429", "500", "503", "slow", "timeout", "accept_then_timeout"]
Provider = Literal["sendgrid", "twilio"]

_SENDGRID_MESSAGES = {429: "too many requests", 500: "internal error", 503: "service unavailable"}
_TWILIO_ERRORS = {
    429: (20429, "Too Many Requests"),
    500: (20500, "Internal Server Error"),
    503: (20503, "Service Unavailable"),
}


def draw(faults: Faults, rng: random.Random) -> Fault | None:
    """Which fault (if any) this request meets; one draw per request, so a seeded run repeats."""
    if faults.total() <= 0:
        return None
    point = rng.random()
    for name, rate in (
        ("429", faults.rate_429),
        ("500", faults.rate_500),
        ("503", faults.rate_503),
        ("slow", faults.slow),
        ("timeout", faults.timeout),
        ("accept_then_timeout", faults.accept_then_timeout),
    ):
        if point < rate:
            return name  # type: ignore[return-value]
        point -= rate
    return None


def error_response(provider: Provider, status: int, faults: Faults) -> Response:
    """The provider's error answer for an injected 429 / 500 / 503."""
    headers = {"Retry-After": _seconds(faults.retry_after)} if status == 429 else None
    if provider == "sendgrid":
        body = {"errors": [{"message": _SENDGRID_MESSAGES[status], "field": None, "help": None}]}
    else:
        code, message = _TWILIO_ERRORS[status]
        body = {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }
    return JSONResponse(body, status_code=status, headers=headers)


async def hold(faults: Faults) -> Response:
    """Stall past any client's timeout; the eventual answer reaches nobody."""
    await asyncio.sleep(faults.hold_seconds)
    return Response(status_code=504)


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
