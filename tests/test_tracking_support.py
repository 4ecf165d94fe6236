"""Shared builders for the tracking tests (no tests here): people and messages, signed provider posts.

Payloads follow the providers' documentation: SendGrid's Event Webhook (a JSON array of events,
ECDSA P-256 signature over timestamp + body) and Twilio's form posts signed with `X-Twilio-Signature`.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import Engine, func, insert, select
from starlette.testclient import TestClient
from twilio.request_validator import RequestValidator

from outreach.clock import utcnow
from outreach.models import CampaignRun, Message
from outreach.population.columns import PERSON_FIELDS
from outreach.population.store import upsert_people
from outreach.tracking.app import create_app
from outreach.tracking.settings import TrackingSettings

BASE_URL = "https://suivi.carsat-centreouest.fr"
SECRET = b"test-secret-for-tracking-tokens-0123456789"
TWILIO_TOKEN = "twilio-test-auth-token"


class SendGridKey:
    """A throwaway ECDSA P-256 key, signing batches as SendGrid's Signed Event Webhook does."""

    def __init__(self) -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())
        der = self._key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.public_key = base64.b64encode(der).decode()

    def headers(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        signature = self._key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return {
            "Content-Type": "application/json",
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
        }


def settings_for(tmp_path: Path, key: SendGridKey, **overrides: Any) -> TrackingSettings:
    values: dict[str, Any] = {
        "secret": SECRET,
        "base_url": BASE_URL,
        "sendgrid_public_key": key.public_key,
        "twilio_auth_token": TWILIO_TOKEN,
        "spool_dir": tmp_path / "spool",
        "replay_interval_seconds": 3600.0,
    }
    return TrackingSettings(**(values | overrides))


def client_for(engine: Engine, settings: TrackingSettings) -> TestClient:
    return TestClient(create_app(engine, settings), base_url=BASE_URL, follow_redirects=False)


PEOPLE = [
    (
        "P0001",
        "Mme",
        "Élodie",
        "Moreau",
        "1991-04-12",
        "elodie.moreau@example.fr",
        "+33612345678",
        "Poitiers",
        "86000",
    ),
    (
        "P0002",
        "M",
        "Jean-François",
        "Lefèvre",
        "1961-09-03",
        "jf.lefevre@example.org",
        "+33698765432",
        "Limoges",
        "87000",
    ),
    (
        "P0003",
        "Mme",
        "Françoise",
        "Bérard",
        "1958-01-27",
        "f.berard@example.net",
        "+33611223344",
        "Niort",
        "79000",
    ),
]


@dataclass(frozen=True)
class Seeded:
    """The messages of the seeded campaign: person id -> message id, per channel."""

    email: dict[str, int]
    sms: dict[str, int]
    letter: dict[str, int]
    sent_at: datetime


def person(
    person_id: str,
    civility: str,
    first: str,
    last: str,
    born: str,
    email: str,
    mobile: str,
    city: str,
    postal_code: str,
) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(PERSON_FIELDS)
    row.update(
        person_id=person_id,
        civility=civility,
        first_name=first,
        last_name=last,
        birth_date=date.fromisoformat(born),
        status="active",
        worker_type="salaried",
        email=email,
        mobile_phone=mobile,
        address_street="12 RUE DES CARMES",
        postal_code=postal_code,
        city=city.upper(),
        country="FRANCE",
        receives_survivor_pension=False,
        digital_profile="technophile",
        fragility_flags="",
        preferred_channel=None,
    )
    return row


def seed(engine: Engine, sent_days_ago: int = 1) -> Seeded:
    """Three people, each sent an e-mail, an SMS and a letter in one career-statement campaign."""
    sent_at = utcnow() - timedelta(days=sent_days_ago)
    with engine.begin() as connection:
        upsert_people(connection, [person(*p) for p in PEOPLE])
        run_id = connection.execute(
            insert(CampaignRun)
            .values(
                campaign="releve_carriere",
                wave="2026-11",
                as_of=date(2026, 11, 26),
                dry_run=False,
                status="running",
                started_at=sent_at,
            )
            .returning(CampaignRun.id)
        ).scalar_one()
        ids: dict[str, dict[str, int]] = {"email": {}, "sms": {}, "letter": {}}
        for person_id, *_ in PEOPLE:
            for channel in ids:
                ids[channel][person_id] = connection.execute(
                    insert(Message)
                    .values(
                        run_id=run_id,
                        step=f"annonce_{channel}",
                        person_id=person_id,
                        journey="follow_career",
                        status="sent",
                        channel=channel,
                        template=f"releve_carriere_{channel}",
                        variant="standard",
                        provider_id=f"{channel}-{person_id}-provider",
                        sent_at=sent_at,
                    )
                    .returning(Message.id)
                ).scalar_one()
    return Seeded(ids["email"], ids["sms"], ids["letter"], sent_at)


def sendgrid_event(
    name: str,
    message_id: int | None,
    event_id: str,
    at: datetime | None = None,
    email: str = "elodie.moreau@example.fr",
    **extra: Any,
) -> dict[str, Any]:
    """One event as SendGrid documents it, with our custom_args at the top level."""
    event: dict[str, Any] = {
        "email": email,
        "timestamp": int(_unix(at or utcnow())),
        "event": name,
        "sg_event_id": event_id,
        "sg_message_id": "14c5d75ce93.filterdrecv-p3las1-16188-5B2E1C1A-1.0",
        "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
        "category": ["releve_carriere"],
    }
    if message_id is not None:
        event["outreach_message_id"] = f"m{message_id}"
    event.update(extra)
    return event


def _unix(naive_utc: datetime) -> float:
    return (naive_utc - datetime(1970, 1, 1)).total_seconds()


def post_sendgrid(client: TestClient, key: SendGridKey, events: list[dict[str, Any]], **kwargs: Any) -> Any:
    body = json.dumps(events).encode()
    return client.post("/webhooks/sendgrid", content=body, headers=key.headers(body, **kwargs))


def post_twilio(
    client: TestClient,
    path: str,
    params: dict[str, str],
    token: str = TWILIO_TOKEN,
    signed_url: str | None = None,
) -> Any:
    """A form post signed as Twilio signs it: over the public URL (with its query) and the params."""
    url = signed_url or f"{BASE_URL}{path}"
    signature = RequestValidator(token).compute_signature(url, params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature})


def rows(engine: Engine, statement: Any) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(statement))


def count(engine: Engine, table: Any) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(table))
