"""The emulator's ASGI app: SendGrid and Twilio endpoints plus `/_emulator/*` controls for tests.

Routes
    POST /v3/mail/send                                      SendGrid v3 mail/send
    GET  /v3/messages?query=...&limit=...                   SendGrid Email Activity (subset)
    POST /2010-04-01/Accounts/{sid}/Messages.json           Twilio create message
    GET  /2010-04-01/Accounts/{sid}/Messages.json           Twilio list messages (paged)
    GET  /2010-04-01/Accounts/{sid}/Messages/{msid}.json    Twilio fetch message
    GET  /_emulator/messages | /_emulator/events | /_emulator/stats | /_emulator/config
    (`/_emulator/messages` shows SMS as received, with the status_callback the public API hides)
    GET  /_emulator/public_key                              the event webhook verification key
    POST /_emulator/reset | /_emulator/config               forget everything / change behaviour

The request path does the minimum (auth, fault draw, validation, store, enqueue); events are made
by `EventEngine` in the background and nothing is logged per request.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import os
import random
import time
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from outreach.emulator import faults, sendgrid_api, twilio_api
from outreach.emulator.config import EmulatorConfig
from outreach.emulator.events import EventEngine
from outreach.emulator.signing import EventSigner
from outreach.emulator.store import Store


class Emulator:
    """The state behind one app: configuration (swappable), memory, signer, event engine."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.store = Store()
        self.signer = EventSigner()
        self.engine = EventEngine(lambda: self.config, self.store, self.signer)
        self.fault_rng = random.Random(config.seed)
        self.engine.reseed(config.seed)

    def reconfigure(self, changes: dict[str, Any]) -> None:
        """Apply partial changes; a given `seed` restarts the fault and event draws."""
        self.config = self.config.updated(changes)
        if "seed" in changes:
            self.fault_rng = random.Random(self.config.seed)
            self.engine.reseed(self.config.seed)

    def reset(self) -> None:
        """Forget messages, events and counters; restart the seeded draws."""
        self.store.reset()
        self.engine.reset()
        self.fault_rng = random.Random(self.config.seed)
        self.engine.reseed(self.config.seed)


def create_app(config: EmulatorConfig | None = None) -> Starlette:
    """A fresh emulator app; its `Emulator` is at `app.state.emulator`."""
    emulator = Emulator(config or EmulatorConfig())

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(emulator.engine.run())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def handler(function: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            return await function(emulator, request)

        return endpoint

    twilio_base = "/2010-04-01/Accounts/{account_sid}"
    routes = [
        Route("/v3/mail/send", handler(_mail_send), methods=["POST"]),
        Route("/v3/messages", handler(_email_activity), methods=["GET"]),
        Route(f"{twilio_base}/Messages.json", handler(_create_sms), methods=["POST"]),
        Route(f"{twilio_base}/Messages.json", handler(_list_sms), methods=["GET"]),
        Route(f"{twilio_base}/Messages/{{message_sid}}.json", handler(_fetch_sms), methods=["GET"]),
        Route("/_emulator/messages", handler(_messages), methods=["GET"]),
        Route("/_emulator/events", handler(_events), methods=["GET"]),
        Route("/_emulator/stats", handler(_stats), methods=["GET"]),
        Route("/_emulator/public_key", handler(_public_key), methods=["GET"]),
        Route("/_emulator/config", handler(_get_config), methods=["GET"]),
        Route("/_emulator/config", handler(_set_config), methods=["POST"]),
        Route("/_emulator/reset", handler(_reset), methods=["POST"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.emulator = emulator
    return app


def _sendgrid_errors(status: int, errors: list[dict[str, Any]]) -> JSONResponse:
    return JSONResponse({"errors": errors}, status_code=status)


def _sendgrid_authorised(emulator: Emulator, request: Request) -> bool:
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    expected = emulator.config.sendgrid_api_key
    return scheme == "Bearer" and bool(key.strip()) and (expected is None or key == expected)


_SENDGRID_UNAUTHORISED = [
    sendgrid_api.error("The provided authorization grant is invalid, expired, or revoked", None)
]


async def _mail_send(emulator: Emulator, request: Request) -> Response:
    config, store = emulator.config, emulator.store
    if not _sendgrid_authorised(emulator, request):
        return _sendgrid_errors(401, _SENDGRID_UNAUTHORISED)
    fault = faults.draw(config.sendgrid_faults, emulator.fault_rng)
    if fault is not None:
        store.counters[f"sendgrid_fault_{fault}"] += 1
        if fault in ("429", "500", "503"):
            return faults.error_response("sendgrid", int(fault), config.sendgrid_faults)
        if fault == "timeout":
            return await faults.hold(config.sendgrid_faults)
        if fault == "slow":
            await asyncio.sleep(config.sendgrid_faults.slow_seconds)
    try:
        payload = json.loads(await request.body())
    except ValueError:
        return _sendgrid_errors(400, [sendgrid_api.error("Bad Request", None)])
    errors = sendgrid_api.validate(payload)
    if errors:
        store.counters["sendgrid_400"] += 1
        return _sendgrid_errors(400, errors)
    if ((payload.get("mail_settings") or {}).get("sandbox_mode") or {}).get("enable"):
        store.counters["sendgrid_sandbox"] += 1
        return Response(status_code=200)
    x_message_id = base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
    emails = sendgrid_api.expand(payload, x_message_id, time.time(), config.store_content)
    for email in emails:
        store.add_email(email)
    store.counters["sendgrid_accepted"] += len(emails)
    if config.events:
        emulator.engine.email_accepted(emails)
    if fault == "accept_then_timeout":
        return await faults.hold(config.sendgrid_faults)
    return Response(status_code=202, headers={"X-Message-Id": x_message_id})


async def _email_activity(emulator: Emulator, request: Request) -> Response:
    if not _sendgrid_authorised(emulator, request):
        return _sendgrid_errors(401, _SENDGRID_UNAUTHORISED)
    pairs = sendgrid_api.parse_activity_query(request.query_params.get("query", ""))
    if pairs is None:
        return _sendgrid_errors(400, [sendgrid_api.error("invalid query", "query")])
    limit = max(1, min(int(request.query_params.get("limit", 10)), 1000))
    found = []
    for pair in pairs:
        found += emulator.store.emails_by_arg.get(pair, [])
    entries = [sendgrid_api.activity_entry(email, "processed") for email in found[:limit]]
    return JSONResponse({"messages": entries})


def _twilio_error(error: twilio_api.TwilioError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status)


def _twilio_authorised(emulator: Emulator, request: Request) -> bool:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    try:
        user, _, password = base64.b64decode(encoded).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    config = emulator.config
    return (
        scheme == "Basic"
        and user == config.twilio_account_sid == request.path_params["account_sid"]
        and password == config.twilio_auth_token
    )


_TWILIO_UNAUTHORISED = twilio_api.TwilioError(401, 20003, "Authenticate")


async def _create_sms(emulator: Emulator, request: Request) -> Response:
    config, store = emulator.config, emulator.store
    if not _twilio_authorised(emulator, request):
        return _twilio_error(_TWILIO_UNAUTHORISED)
    fault = faults.draw(config.twilio_faults, emulator.fault_rng)
    if fault is not None:
        store.counters[f"twilio_fault_{fault}"] += 1
        if fault in ("429", "500", "503"):
            return faults.error_response("twilio", int(fault), config.twilio_faults)
        if fault == "timeout":
            return await faults.hold(config.twilio_faults)
        if fault == "slow":
            await asyncio.sleep(config.twilio_faults.slow_seconds)
    form = dict(parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True))
    try:
        twilio_api.validate(form)
    except twilio_api.TwilioError as error:
        store.counters["twilio_400"] += 1
        return _twilio_error(error)
    resource = twilio_api.new_resource(config.twilio_account_sid, form, time.time())
    store.add_sms(resource)
    store.counters["twilio_accepted"] += 1
    if config.events:
        emulator.engine.sms_accepted(resource)
    if fault == "accept_then_timeout":
        return await faults.hold(config.twilio_faults)
    return JSONResponse(twilio_api.public(resource), status_code=201)


async def _list_sms(emulator: Emulator, request: Request) -> Response:
    if not _twilio_authorised(emulator, request):
        return _twilio_error(_TWILIO_UNAUTHORISED)
    store, query = emulator.store, dict(request.query_params)
    sids = twilio_api.matching_sids(store.sms_order, store.sms, query)
    return JSONResponse(twilio_api.page(emulator.config.twilio_account_sid, sids, store.sms, query))


async def _fetch_sms(emulator: Emulator, request: Request) -> Response:
    if not _twilio_authorised(emulator, request):
        return _twilio_error(_TWILIO_UNAUTHORISED)
    resource = emulator.store.sms.get(request.path_params["message_sid"])
    if resource is None:
        return _twilio_error(twilio_api.TwilioError(404, 20404, "The requested resource was not found"))
    return JSONResponse(twilio_api.public(resource))


async def _messages(emulator: Emulator, _: Request) -> Response:
    store = emulator.store
    emails = [asdict(email) for email in store.emails]
    return JSONResponse({"sendgrid": emails, "twilio": [store.sms[sid] for sid in store.sms_order]})


async def _events(emulator: Emulator, _: Request) -> Response:
    store = emulator.store
    return JSONResponse(
        {
            "sendgrid": store.sendgrid_events,
            "twilio": store.twilio_callbacks,
            "pending": emulator.engine.pending(),
        }
    )


async def _stats(emulator: Emulator, _: Request) -> Response:
    return JSONResponse(dict(emulator.store.counters))


async def _public_key(emulator: Emulator, _: Request) -> Response:
    return JSONResponse({"public_key": emulator.signer.public_key})


async def _get_config(emulator: Emulator, _: Request) -> Response:
    return JSONResponse(emulator.config.to_dict())


async def _set_config(emulator: Emulator, request: Request) -> Response:
    try:
        emulator.reconfigure(json.loads(await request.body()))
    except (ValueError, TypeError) as error:
        return JSONResponse({"error": str(error)}, status_code=400)
    return JSONResponse(emulator.config.to_dict())


async def _reset(emulator: Emulator, _: Request) -> Response:
    emulator.reset()
    return JSONResponse({"reset": True})
