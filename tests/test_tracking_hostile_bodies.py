"""A validly signed but hostile SendGrid body through HTTP: refused (400) before anything is stored,
never a `RecursionError` answered 500 that the provider would retry forever."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient
from test_tracking_support import Seeded, SendGridKey, client_for, count, seed, settings_for

from outreach.models import DeliveryEvent, MessageEngagement, UnmatchedEvent


@pytest.fixture
def key() -> SendGridKey:
    return SendGridKey()


@pytest.fixture
def seeded(engine: Engine) -> Seeded:
    return seed(engine)


@pytest.fixture
def client(engine: Engine, key: SendGridKey, tmp_path: Path) -> TestClient:
    return client_for(engine, settings_for(tmp_path, key))


def nothing_stored(engine: Engine) -> None:
    for table in (DeliveryEvent, UnmatchedEvent, MessageEngagement):
        assert count(engine, table.__table__) == 0, table.__tablename__


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'[{"event": "open", "x": ' + b'{"y": ' * 50_000 + b"1" + b"}" * 50_000 + b"}]",
        b'[{"event": "delivered", "pool": ' + b"[" * 600 + b"]" * 600 + b"}]",
    ],
    ids=["deep-array", "deep-object-in-event", "deep-field-under-parser-limit"],
)
def test_a_signed_deeply_nested_sendgrid_body_is_refused_with_400(
    engine: Engine, client: TestClient, key: SendGridKey, body: bytes
) -> None:
    response = client.post("/webhooks/sendgrid", content=body, headers=key.headers(body))
    assert response.status_code == 400
    nothing_stored(engine)


def nested(depth: int) -> str:
    """JSON text of arrays `depth` levels deep."""
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("big", [False, True], ids=["orjson-path", "fallback-path"])
def test_the_depth_bound_is_the_same_whichever_path_writes_the_event(
    engine: Engine, client: TestClient, key: SendGridKey, seeded: Seeded, big: bool
) -> None:
    """An integer over 64 bits sends the event through the standard library: same bound (254 levels)."""
    extra = ', "asm_group_id": 123456789012345678901234567890' if big else ""

    def post(depth: int) -> int:
        message = seeded.email["P0001"]
        body = (
            f'[{{"event": "delivered", "sg_event_id": "deep-{depth}", "outreach_message_id": "m{message}", '
            f'"timestamp": 1795000000, "pool": {nested(depth - 1)}{extra}}}]'
        ).encode()
        return client.post("/webhooks/sendgrid", content=body, headers=key.headers(body)).status_code

    assert post(254) == 200
    assert post(255) == 400
    assert count(engine, DeliveryEvent.__table__) == 1
