"""The public tracking service (Starlette, run with uvicorn): provider webhooks and our own links.

Every webhook follows one skeleton — validate (size, signature, freshness), parse, dispatch to
`ingest` — and answers accordingly: 413 for an oversized body, 403 for a bad signature or a stale
timestamp, 400 for malformed input, all before anything is stored; 2xx once the batch is stored or
safely spooled; 5xx when our own handler fails, so the provider retries. Token links answer 404
for a token that does not verify; only the bearer of a genuine unsubscribe token learns whether its
message is still held (the page must tell them the truth about their request).

Our own links follow HTTP's safe methods (RFC 9110, 9.2.1): a GET of the pixel, a click or a letter
response is what they record; a HEAD (link scanners and prefetchers send them) gets the answer a GET
would get and records nothing. The unsubscribe and survey pages change something only on a POST.

The service exposes no listing and no personal data: every page is about one signed token.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from functools import partial
from typing import Any, NamedTuple
from xml.sax.saxutils import escape

from sqlalchemy import Engine, select, text
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from outreach.clock import utcnow
from outreach.models import Message
from outreach.tracking import own, pages, sendgrid, twilio
from outreach.tracking.errors import BadSignature, Malformed, Rejected, TooLarge
from outreach.tracking.events import TrackingEvent
from outreach.tracking.groupcommit import GroupCommit
from outreach.tracking.ingest import Batch, IngestResult, ingest_batches, replay_spool
from outreach.tracking.satisfaction import record_answer
from outreach.tracking.settings import TrackingSettings
from outreach.tracking.tokens import InvalidToken, Purpose, TokenClaims, TokenSigner

log = logging.getLogger(__name__)

PIXEL = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)
"""A transparent 1x1 GIF."""
NO_STORE = {"Cache-Control": "no-store, private", "Referrer-Policy": "no-referrer"}
FORM = "application/x-www-form-urlencoded"
STOP_REPLY = (
    "CARSAT Centre-Ouest : votre demande est prise en compte. "
    "Vous ne recevrez plus de SMS de la CARSAT Centre-Ouest."
)
OTHER_REPLY = (
    "CARSAT Centre-Ouest : ce numéro ne lit pas les réponses. Pour toute question, appelez le 3960 "
    "ou rendez-vous sur lassuranceretraite.fr"
)
"""GSM 03.38 characters only (é is in it; no ê, no typographic quotes), so each reply is one cheap part."""

Handler = Callable[[Request], Awaitable[Response]]


class TrackingService:
    """The handlers, holding the engine, the settings and what is derived from them once."""

    def __init__(self, engine: Engine, settings: TrackingSettings) -> None:
        self.engine = engine
        self.settings = settings
        self.signer = TokenSigner(settings.secret)
        self.verifier = (
            sendgrid.SignatureVerifier(settings.sendgrid_public_key, settings.timestamp_tolerance_seconds)
            if settings.sendgrid_public_key
            else None
        )
        # SQLite takes one writer at a time: queueing here is cheaper than its busy-wait retries.
        self._write_lock = threading.Lock() if engine.dialect.name == "sqlite" else contextlib.nullcontext()
        self._group_commit = GroupCommit(self._store_group)

    # --- plumbing -------------------------------------------------------------------------------

    def _store_group(self, batches: Sequence[Batch]) -> list[IngestResult]:
        with self._write_lock:
            return ingest_batches(self.engine, batches, self.settings.spool)

    def _store(self, events: Sequence[TrackingEvent], received_at: datetime) -> IngestResult:
        return self._group_commit.submit(Batch(events, received_at))

    async def _save(self, events: Sequence[TrackingEvent], received_at: datetime) -> IngestResult:
        return await run_in_threadpool(self._store, events, received_at)

    async def _body(self, request: Request) -> bytes:
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise TooLarge("body too large")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise TooLarge("body too large")
            chunks.append(chunk)
        return b"".join(chunks)

    def _claims(self, request: Request, purpose: Purpose) -> TokenClaims:
        return self.signer.verify(request.path_params["token"], purpose)

    def _public_url(self, request: Request) -> str:
        """The URL Twilio signed: our public base URL, not whatever the proxy in front rewrote."""
        query = request.url.query
        return f"{self.settings.base_url}{request.url.path}" + (f"?{query}" if query else "")

    # --- provider webhooks ----------------------------------------------------------------------

    async def sendgrid_events(self, request: Request) -> Response:
        if self.verifier is None:
            raise _NotConfigured("SendGrid verification key not configured")
        body = await self._body(request)
        self.verifier.verify(
            body,
            request.headers.get(sendgrid.SIGNATURE_HEADER),
            request.headers.get(sendgrid.TIMESTAMP_HEADER),
            time.time(),
        )
        received_at = utcnow()
        events = sendgrid.parse_batch(body, received_at)
        result = await self._save(events, received_at)
        return JSONResponse(_summary(result))

    async def _twilio_params(self, request: Request) -> dict[str, str]:
        if not self.settings.twilio_auth_token:
            raise _NotConfigured("Twilio auth token not configured")
        try:
            params = twilio.parse_form(await self._body(request))
        except Malformed as exc:  # unreadable means unverifiable: refused as unsigned, not as malformed
            raise BadSignature("Twilio request is not a form") from exc
        twilio.verify(
            self.settings.twilio_auth_token,
            self._public_url(request),
            params,
            request.headers.get(twilio.SIGNATURE_HEADER),
        )
        return params

    async def twilio_status(self, request: Request) -> Response:
        params = await self._twilio_params(request)
        received_at = utcnow()
        key = request.query_params.get(twilio.MESSAGE_KEY_PARAM)
        result = await self._save([twilio.status_event(params, key, received_at)], received_at)
        return JSONResponse(_summary(result))

    async def twilio_inbound(self, request: Request) -> Response:
        params = await self._twilio_params(request)
        received_at = utcnow()
        event = twilio.inbound_event(params, received_at)
        await self._save([event], received_at)
        reply = STOP_REPLY if event.reason == "sms_stop" else OTHER_REPLY
        return Response(_twiml(reply), media_type="application/xml")

    # --- our own links --------------------------------------------------------------------------

    async def _fetched(self, request: Request, event: Callable[[datetime], TrackingEvent]) -> None:
        """Record `event` for a GET of one of our links; a HEAD only asks what a GET would answer."""
        if request.method == "GET":
            at = utcnow()
            await self._save([event(at)], at)

    async def pixel(self, request: Request) -> Response:
        claims = self._claims(request, Purpose.OPEN)
        agent = request.headers.get("user-agent")
        await self._fetched(request, partial(own.opened, claims.message_id, agent))
        return Response(PIXEL, media_type="image/gif", headers=NO_STORE)

    async def click(self, request: Request) -> Response:
        claims = self._claims(request, Purpose.CLICK)
        assert claims.url is not None  # guaranteed by the token
        agent = request.headers.get("user-agent")
        await self._fetched(request, partial(own.clicked, claims.message_id, claims.url, agent))
        return RedirectResponse(claims.url, status_code=302, headers=NO_STORE)

    async def response(self, request: Request) -> Response:
        claims = self._claims(request, Purpose.RESPONSE)
        agent = request.headers.get("user-agent")
        await self._fetched(request, partial(own.responded, claims.message_id, agent))
        return HTMLResponse(pages.response_thanks(), headers=NO_STORE)

    async def unsubscribe(self, request: Request) -> Response:
        """The page on GET (and HEAD); the request itself on POST, whatever its body.

        RFC 8058's one-click POST comes from a mail provider with no cookie and no page in between,
        form-encoded (Gmail) or as multipart/form-data (the RFC's preference); its body names no
        scope. So any POST to the signed URL is a "no" for the message's channel; only our own page's
        form (form-encoded `scope=all`) widens it to every channel. A message no longer held gets
        202 and a page that says the request could not be applied (`feedback` records it); while the
        database is away the request is spooled and the page cannot tell, so it says "noted".
        """
        claims = self._claims(request, Purpose.UNSUBSCRIBE)
        held = await run_in_threadpool(self._lookup, claims.message_id)
        if request.method != "POST":
            return HTMLResponse(pages.unsubscribe_form(held.channel), headers=NO_STORE)
        every_channel = _form_field(request, await self._body(request), "scope") == "all"
        at = utcnow()
        await self._save([own.unsubscribed(claims.message_id, every_channel, at)], at)
        if held.found is False:  # purged or erased: `feedback` records the request for an operator
            return HTMLResponse(pages.unsubscribe_unresolved(), status_code=202, headers=NO_STORE)
        return HTMLResponse(pages.unsubscribe_done(held.channel, every_channel), headers=NO_STORE)

    async def survey(self, request: Request) -> Response:
        claims = self._claims(request, Purpose.SURVEY)
        if request.method != "POST":
            return HTMLResponse(pages.survey_form(), headers=NO_STORE)
        form = twilio.parse_form(await self._body(request))
        comment = form.get("comment", "")
        score = form.get("score", "")
        if score not in ("1", "2", "3", "4", "5"):
            page = pages.survey_form("Choisissez une note de 1 à 5.", None, comment)
            return HTMLResponse(page, status_code=400, headers=NO_STORE)
        found = await run_in_threadpool(
            record_answer, self.engine, claims.message_id, int(score), comment, utcnow()
        )
        if not found:
            return _not_found()
        return HTMLResponse(pages.survey_thanks(), headers=NO_STORE)

    def _lookup(self, message_id: int) -> _Held:
        """Whether the message is still held, and its channel, to word the pages."""
        try:
            with self.engine.connect() as connection:
                row = connection.execute(select(Message.channel).where(Message.id == message_id)).first()
        except Exception:  # the page still works (generic wording) and the unsubscribe is spooled
            return _Held(None, None)
        return _Held(row is not None, row.channel if row else None)

    async def health(self, request: Request) -> Response:
        database = "ok"
        try:
            await run_in_threadpool(self._ping)
        except Exception:
            database = "unavailable"
        spooled = len(list(self.settings.spool.glob("*.json"))) if self.settings.spool.is_dir() else 0
        return JSONResponse({"status": "ok", "database": database, "spooled_batches": spooled})

    def _ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def replay(self) -> None:
        """Store what the spool holds (called periodically while the service runs)."""
        with self._write_lock:
            replay_spool(self.engine, self.settings.spool)


class _Held(NamedTuple):
    """What the database says of a message: `found` is None when it cannot say right now."""

    found: bool | None
    channel: str | None


def _form_field(request: Request, body: bytes, name: str) -> str | None:
    """`name` from a form-encoded body; None for any other body, or one that is not a form."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != FORM:
        return None
    try:
        return twilio.parse_form(body).get(name)
    except Malformed:
        return None


class _NotConfigured(Exception):
    """A webhook whose credentials are not configured: 503, so the provider retries once we fix it."""


def _guard(handler: Handler) -> Handler:
    """Turn any failure into the right status; the service never crashes on input, never leaks it."""

    async def guarded(request: Request) -> Response:
        try:
            return await handler(request)
        except Rejected as exc:
            return Response(str(exc), status_code=exc.status, media_type="text/plain")
        except InvalidToken:
            return _not_found()
        except _NotConfigured as exc:
            return _unavailable(str(exc))
        except Exception as exc:
            # No message text: it may quote an address from the payload. The path holds only a token.
            log.error("tracking handler failed on %s: %s", request.url.path, type(exc).__name__)
            return Response("internal error", status_code=500, media_type="text/plain")

    return guarded


def _summary(result: IngestResult) -> dict[str, Any]:
    return {
        "received": result.received,
        "stored": result.stored,
        "unmatched": result.unmatched,
        "duplicates": result.duplicates,
        "spooled": result.spooled,
    }


def _twiml(message: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?><Response><Message>{escape(message)}</Message></Response>'


def _unavailable(reason: str) -> Response:
    return Response(reason, status_code=503, media_type="text/plain")


def _not_found() -> Response:
    return HTMLResponse(pages.not_found(), status_code=404, headers=NO_STORE)


def app_from_environment() -> Starlette:
    """The app for the configured database and settings (uvicorn's factory when it runs workers)."""
    from outreach.db import SERVICE_MEMORY_MAP_MB, SERVICE_PAGE_CACHE_MB, make_engine

    engine = make_engine(page_cache_mb=SERVICE_PAGE_CACHE_MB, memory_map_mb=SERVICE_MEMORY_MAP_MB)
    app = create_app(engine, TrackingSettings.from_env())
    _tune_garbage_collector()
    return app


def _tune_garbage_collector() -> None:
    """Collect less often, and never again through what was loaded at start-up.

    A webhook batch allocates thousands of short-lived objects; with the default thresholds the
    collector ran several times per batch and its full passes walked the ~200,000 objects of the
    loaded modules every time: 9 µs per event, 0.5 µs with this (measured in-process). Only the
    service process does this, once its modules are loaded.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


def create_app(engine: Engine, settings: TrackingSettings) -> Starlette:
    """The ASGI app; it also replays the spool every `settings.replay_interval_seconds` while it runs."""
    service = TrackingService(engine, settings)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async def replay_forever() -> None:
            while True:
                await asyncio.sleep(settings.replay_interval_seconds)
                try:
                    await run_in_threadpool(service.replay)
                except Exception as exc:  # a bad spool file must not stop the loop
                    log.error("spool replay failed: %s", type(exc).__name__)

        task = asyncio.create_task(replay_forever())
        yield
        task.cancel()

    routes = [
        Route("/webhooks/sendgrid", _guard(service.sendgrid_events), methods=["POST"]),
        Route("/webhooks/twilio/status", _guard(service.twilio_status), methods=["POST"]),
        Route("/webhooks/twilio/inbound", _guard(service.twilio_inbound), methods=["POST"]),
        Route("/o/{token}.gif", _guard(service.pixel), methods=["GET"]),
        Route("/c/{token}", _guard(service.click), methods=["GET"]),
        Route("/r/{token}", _guard(service.response), methods=["GET"]),
        Route("/u/{token}", _guard(service.unsubscribe), methods=["GET", "POST"]),
        Route("/s/{token}", _guard(service.survey), methods=["GET", "POST"]),
        Route("/health", _guard(service.health), methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.service = service
    return app
