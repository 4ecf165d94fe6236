"""A database outage during ingestion: batches are spooled, acknowledged, and replayed without loss."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, select
from starlette.testclient import TestClient
from test_tracking_support import (
    SendGridKey,
    client_for,
    count,
    post_sendgrid,
    post_twilio,
    rows,
    seed,
    sendgrid_event,
    settings_for,
)

from outreach.db import make_engine
from outreach.models import DeliveryEvent, OptOut, Suppression
from outreach.tracking import feedback
from outreach.tracking.app import create_app
from outreach.tracking.ingest import replay_spool


def batch(seeded_email: dict[str, int]) -> list[dict[str, object]]:
    return [
        sendgrid_event("delivered", seeded_email["P0001"], "ev-delivered"),
        sendgrid_event("open", seeded_email["P0001"], "ev-open", sg_machine_open=False),
        sendgrid_event(
            "bounce", seeded_email["P0002"], "ev-bounce", email="jf.lefevre@example.org", type="bounce"
        ),
    ]


STOP = {
    "MessageSid": "SMstop01",
    "AccountSid": "AC" + "0" * 32,
    "From": "+33611223344",
    "To": "+33757000000",
    "Body": "Arrêt",
}


def test_a_locked_sqlite_database_loses_nothing(
    sqlite_engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    seeded = seed(sqlite_engine)
    key = SendGridKey()
    settings = settings_for(tmp_path, key)
    impatient = create_engine(sqlite_engine.url, connect_args={"timeout": 0.2})  # the service's view
    client = client_for(impatient, settings)

    blocker = sqlite3.connect(sqlite_engine.url.database, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # another process holds the database
    try:
        response = post_sendgrid(client, key, batch(seeded.email))
        assert response.status_code == 200 and response.json()["spooled"] is True
        stop = post_twilio(client, "/webhooks/twilio/inbound", STOP)
        assert stop.status_code == 200 and "Vous ne recevrez plus de SMS" in stop.text
        assert client.get("/health").json()["spooled_batches"] == 2
        warnings = [r.getMessage() for r in caplog.records if r.name == "outreach.tracking.ingest"]
        assert warnings and all("(OperationalError, SQLITE_BUSY)" in w for w in warnings)
        assert not any("@" in w or "+336" in w for w in warnings)  # no address, no number
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert count(sqlite_engine, DeliveryEvent.__table__) == 0

    result = replay_spool(sqlite_engine, settings.spool)
    assert (result.files, result.stored, result.left) == (2, 4, 0)
    assert not list(settings.spool.glob("*"))
    assert {r.reason for r in rows(sqlite_engine, select(Suppression.reason))} == {"hard_bounce", "sms_stop"}
    assert rows(sqlite_engine, select(OptOut.person_id, OptOut.source)) == [("P0003", "sms_stop")]
    # the provider retries what we had already acknowledged: nothing is stored twice
    assert post_sendgrid(client, key, batch(seeded.email)).json()["duplicates"] == 3
    assert replay_spool(sqlite_engine, settings.spool).files == 0


@pytest.mark.postgres
def test_an_unreachable_postgresql_loses_nothing(postgres_engine: Engine, tmp_path: Path) -> None:
    seeded = seed(postgres_engine)
    key = SendGridKey()
    settings = settings_for(tmp_path, key)
    down = make_engine("postgresql://postgres@127.0.0.1:1/outreach")  # the server is stopped
    client = client_for(down, settings)
    response = post_sendgrid(client, key, batch(seeded.email))
    assert response.status_code == 200 and response.json()["spooled"] is True
    assert client.get("/health").json() == {"status": "ok", "database": "unavailable", "spooled_batches": 1}
    assert replay_spool(down, settings.spool).left == 1  # still down: the file stays

    result = replay_spool(postgres_engine, settings.spool)
    assert (result.files, result.stored, result.unmatched) == (1, 3, 0)
    assert count(postgres_engine, DeliveryEvent.__table__) == 3


def test_the_running_service_replays_its_spool_by_itself(sqlite_engine: Engine, tmp_path: Path) -> None:
    seeded = seed(sqlite_engine)
    key = SendGridKey()
    settings = settings_for(tmp_path, key, replay_interval_seconds=0.1)
    impatient = create_engine(sqlite_engine.url, connect_args={"timeout": 0.2})
    with TestClient(
        create_app(impatient, settings), base_url="https://suivi.carsat-centreouest.fr"
    ) as client:
        blocker = sqlite3.connect(sqlite_engine.url.database, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        assert post_sendgrid(client, key, batch(seeded.email)).json()["spooled"] is True
        blocker.execute("ROLLBACK")
        blocker.close()
        deadline = time.monotonic() + 10
        while count(sqlite_engine, DeliveryEvent.__table__) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
    assert count(sqlite_engine, DeliveryEvent.__table__) == 3


def test_our_own_failure_is_a_5xx_and_stores_nothing(
    sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = seed(sqlite_engine)
    key = SendGridKey()
    client = client_for(sqlite_engine, settings_for(tmp_path, key))

    def broken(*args: object) -> None:
        raise RuntimeError("a bug in feedback")

    monkeypatch.setattr(feedback, "apply", broken)
    assert post_sendgrid(client, key, batch(seeded.email)).status_code == 500  # SendGrid will retry
    assert count(sqlite_engine, DeliveryEvent.__table__) == 0  # the transaction rolled back
