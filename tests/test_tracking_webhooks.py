"""Provider webhooks through HTTP: signatures, freshness, malformed input, dedup, order, matching."""

from __future__ import annotations

import gc
import json
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from starlette.testclient import TestClient
from test_tracking_support import (
    BASE_URL,
    SECRET,
    Seeded,
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

from outreach.clock import utcnow
from outreach.models import DeliveryEvent, Message, MessageEngagement, OptOut, Suppression, UnmatchedEvent
from outreach.tracking import sendgrid
from outreach.tracking.app import app_from_environment


@pytest.fixture
def key() -> SendGridKey:
    return SendGridKey()


@pytest.fixture
def seeded(engine: Engine) -> Seeded:
    return seed(engine)


@pytest.fixture
def client(engine: Engine, key: SendGridKey, tmp_path: Path) -> TestClient:
    return client_for(engine, settings_for(tmp_path, key))


def engagement(engine: Engine, message_id: int) -> MessageEngagement:
    found = rows(
        engine, select(MessageEngagement.__table__).where(MessageEngagement.message_id == message_id)
    )
    assert len(found) == 1
    return found[0]


def test_a_signed_batch_is_stored_and_folded_into_engagement(
    engine: Engine, client: TestClient, key: SendGridKey, seeded: Seeded
) -> None:
    message = seeded.email["P0001"]
    t0 = utcnow().replace(microsecond=0) - timedelta(hours=2)
    events = [
        sendgrid_event("processed", message, "ev-processed", t0),
        sendgrid_event("delivered", message, "ev-delivered", t0 + timedelta(seconds=5), response="250 OK"),
        sendgrid_event("open", message, "ev-open-apple", t0 + timedelta(seconds=6), sg_machine_open=True),
        sendgrid_event("open", message, "ev-open-human", t0 + timedelta(hours=1), sg_machine_open=False),
        sendgrid_event(
            "click",
            message,
            "ev-click",
            t0 + timedelta(hours=1, minutes=1),
            url="https://www.lassuranceretraite.fr/portail-info/home/actif/mon-releve-de-carriere.html",
        ),
    ]
    response = post_sendgrid(client, key, events)
    assert response.status_code == 200
    assert response.json() == {"received": 5, "stored": 5, "unmatched": 0, "duplicates": 0, "spooled": False}

    stored = {r.provider_event_id: r for r in rows(engine, select(DeliveryEvent.__table__))}
    assert stored["ev-processed"].event == "queued"
    assert stored["ev-open-apple"].machine is True and stored["ev-open-apple"].reason == "sg_machine_open"
    assert stored["ev-open-human"].machine is False
    assert stored["ev-click"].url.endswith("mon-releve-de-carriere.html")
    assert json.loads(stored["ev-delivered"].raw)["response"] == "250 OK"
    assert {r.message_id for r in stored.values()} == {message}

    facts = engagement(engine, message)
    assert facts.delivered_at == t0 + timedelta(seconds=5)
    assert facts.human_opens == 1 and facts.machine_opens == 1
    assert facts.first_open_at == t0 + timedelta(hours=1)  # the Apple proxy's open is not the person's
    assert facts.clicks == 1 and facts.first_click_at == t0 + timedelta(hours=1, minutes=1)


def test_a_forged_or_altered_batch_is_refused_and_changes_nothing(
    engine: Engine, client: TestClient, key: SendGridKey, seeded: Seeded
) -> None:
    events = [sendgrid_event("delivered", seeded.email["P0001"], "ev-1")]
    body = json.dumps(events).encode()

    forged = client.post("/webhooks/sendgrid", content=body, headers=SendGridKey().headers(body))
    assert forged.status_code == 403

    altered = body.replace(b"delivered", b"spamreport")
    assert client.post("/webhooks/sendgrid", content=altered, headers=key.headers(body)).status_code == 403

    unsigned = client.post("/webhooks/sendgrid", content=body, headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 403

    garbage = key.headers(body) | {"X-Twilio-Email-Event-Webhook-Signature": "not base64 !!"}
    assert client.post("/webhooks/sendgrid", content=body, headers=garbage).status_code == 403
    assert count(engine, DeliveryEvent.__table__) == 0


def test_a_stale_or_future_timestamp_is_refused(
    engine: Engine, client: TestClient, key: SendGridKey, seeded: Seeded
) -> None:
    events = [sendgrid_event("delivered", seeded.email["P0001"], "ev-1")]
    assert post_sendgrid(client, key, events, timestamp=int(time.time()) - 600).status_code == 403
    assert post_sendgrid(client, key, events, timestamp=int(time.time()) + 600).status_code == 403
    assert count(engine, DeliveryEvent.__table__) == 0
    assert post_sendgrid(client, key, events, timestamp=int(time.time()) - 60).status_code == 200


def test_malformed_and_oversized_bodies_get_their_4xx(
    engine: Engine, key: SendGridKey, tmp_path: Path, seeded: Seeded
) -> None:
    client = client_for(engine, settings_for(tmp_path, key, max_body_bytes=2000))
    for body in (b"[{not json", b'{"event": "delivered"}', b"[1, 2]", "[\xe9]".encode("latin-1")):
        assert client.post("/webhooks/sendgrid", content=body, headers=key.headers(body)).status_code == 400
    big = json.dumps([sendgrid_event("delivered", 1, f"ev-{i}") for i in range(20)]).encode()
    assert client.post("/webhooks/sendgrid", content=big, headers=key.headers(big)).status_code == 413
    assert count(engine, DeliveryEvent.__table__) == 0


def test_retries_and_duplicates_are_stored_once(
    engine: Engine, client: TestClient, key: SendGridKey, seeded: Seeded
) -> None:
    message = seeded.email["P0002"]
    opened = sendgrid_event("open", message, "ev-open", email="jf.lefevre@example.org", sg_machine_open=False)
    first = post_sendgrid(client, key, [opened, opened])  # a duplicate inside the batch
    again = post_sendgrid(client, key, [opened])  # SendGrid retrying the same event
    assert first.json()["stored"] == 1 and first.json()["duplicates"] == 1
    assert again.json() == {"received": 1, "stored": 0, "unmatched": 0, "duplicates": 1, "spooled": False}
    assert count(engine, DeliveryEvent.__table__) == 1
    assert engagement(engine, message).human_opens == 1


def test_events_out_of_order_keep_every_fact_right(
    engine: Engine, client: TestClient, key: SendGridKey, seeded: Seeded
) -> None:
    message = seeded.email["P0003"]
    t0 = utcnow().replace(microsecond=0) - timedelta(days=1)
    email = "f.berard@example.net"
    post_sendgrid(client, key, [sendgrid_event("open", message, "ev-open-2", t0 + timedelta(hours=3), email)])
    post_sendgrid(client, key, [sendgrid_event("delivered", message, "ev-delivered", t0, email)])
    post_sendgrid(client, key, [sendgrid_event("open", message, "ev-open-1", t0 + timedelta(hours=1), email)])
    facts = engagement(engine, message)
    assert facts.delivered_at == t0
    assert facts.first_open_at == t0 + timedelta(hours=1)
    assert facts.last_open_at == t0 + timedelta(hours=3)
    assert facts.human_opens == 2


def test_events_for_unknown_messages_are_set_aside_not_dropped(
    engine: Engine, client: TestClient, key: SendGridKey, seeded: Seeded
) -> None:
    events = [
        sendgrid_event("delivered", 987654, "ev-unknown"),
        sendgrid_event("delivered", None, "ev-foreign", outreach_message_id="campagne-externe-42"),
        sendgrid_event("delivered", seeded.email["P0001"], "ev-known"),
    ]
    assert post_sendgrid(client, key, events).json()["unmatched"] == 2
    aside = {r.provider_event_id: r for r in rows(engine, select(UnmatchedEvent.__table__))}
    assert set(aside) == {"ev-unknown", "ev-foreign"}
    assert aside["ev-unknown"].message_key == "m987654"
    assert count(engine, DeliveryEvent.__table__) == 1
    assert post_sendgrid(client, key, events).json()["duplicates"] == 3  # set aside once, too


def test_an_event_without_our_key_is_matched_by_the_provider_message_id(
    engine: Engine, client: TestClient, key: SendGridKey, seeded: Seeded
) -> None:
    message = seeded.email["P0002"]
    event = sendgrid_event(
        "delivered", None, "ev-by-sgid", sg_message_id="email-P0002-provider.filterdrecv-1.0"
    )
    assert post_sendgrid(client, key, [event]).json()["stored"] == 1
    assert rows(engine, select(DeliveryEvent.message_id))[0].message_id == message


def test_a_hard_bounce_suppresses_the_address_and_fails_the_message_a_soft_one_does_not(
    engine: Engine, client: TestClient, key: SendGridKey, seeded: Seeded
) -> None:
    hard, soft = seeded.email["P0001"], seeded.email["P0002"]
    events = [
        sendgrid_event(
            "bounce",
            hard,
            "ev-bounce",
            email="Elodie.Moreau@example.fr",
            type="bounce",
            status="5.1.1",
            reason="550 5.1.1 The email account that you tried to reach does not exist.",
        ),
        sendgrid_event("bounce", soft, "ev-blocked", email="jf.lefevre@example.org", type="blocked"),
    ]
    post_sendgrid(client, key, events)
    suppressed = rows(engine, select(Suppression.channel, Suppression.value, Suppression.reason))
    assert [tuple(r) for r in suppressed] == [("email", "elodie.moreau@example.fr", "hard_bounce")]
    statuses = dict(rows(engine, select(Message.id, Message.status).where(Message.id.in_([hard, soft]))))
    assert statuses == {hard: "failed", soft: "sent"}
    assert engagement(engine, hard).bounce == "hard" and engagement(engine, soft).bounce == "soft"


def test_spam_reports_suppress_and_unsubscribes_opt_out(
    engine: Engine, client: TestClient, key: SendGridKey, seeded: Seeded
) -> None:
    events = [
        sendgrid_event("spamreport", seeded.email["P0001"], "ev-spam"),
        sendgrid_event("unsubscribe", seeded.email["P0002"], "ev-unsub", email="jf.lefevre@example.org"),
        sendgrid_event(
            "dropped",
            seeded.email["P0003"],
            "ev-dropped",
            email="f.berard@example.net",
            reason="Bounced Address",
        ),
    ]
    post_sendgrid(client, key, events)
    suppressed = {(r.value, r.reason) for r in rows(engine, select(Suppression.__table__))}
    assert suppressed == {
        ("elodie.moreau@example.fr", "spam_report"),
        ("f.berard@example.net", "hard_bounce"),
    }
    opted = [tuple(r) for r in rows(engine, select(OptOut.person_id, OptOut.channel, OptOut.source))]
    assert opted == [("P0002", "email", "unsubscribe")]
    assert engagement(engine, seeded.email["P0001"]).complained_at is not None


def twilio_status(sid: str, status: str, to: str = "+33612345678", **extra: str) -> dict[str, str]:
    return {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "MessageStatus": status,
        "SmsStatus": status,
        "To": to,
        "From": "CARSAT",
        "ApiVersion": "2010-04-01",
        **extra,
    }


def test_twilio_status_callbacks_are_verified_against_the_public_url(
    engine: Engine, client: TestClient, seeded: Seeded
) -> None:
    message = seeded.sms["P0001"]
    path = f"/webhooks/twilio/status?m=m{message}"
    params = twilio_status("SM0123456789abcdef0123456789abcdef", "delivered")
    assert post_twilio(client, path, params, token="another-account-token").status_code == 403
    wrong_url = f"{BASE_URL}/webhooks/twilio/status"  # signed without our key: the URL differs
    assert post_twilio(client, path, params, signed_url=wrong_url).status_code == 403
    assert count(engine, DeliveryEvent.__table__) == 0

    assert post_twilio(client, path, params).status_code == 200
    assert post_twilio(client, path, params).json()["duplicates"] == 1  # Twilio retrying
    assert engagement(engine, message).delivered_at is not None
    assert rows(engine, select(DeliveryEvent.provider_event_id))[0][0].endswith(":delivered")


def test_an_sms_to_an_invalid_number_suppresses_it(
    engine: Engine, client: TestClient, seeded: Seeded
) -> None:
    message = seeded.sms["P0002"]
    params = twilio_status("SMfedcba", "undelivered", to="+33698765432", ErrorCode="30005")
    assert post_twilio(client, f"/webhooks/twilio/status?m=m{message}", params).status_code == 200
    assert [
        tuple(r) for r in rows(engine, select(Suppression.channel, Suppression.value, Suppression.reason))
    ] == [("sms", "+33698765432", "invalid_number")]
    facts = engagement(engine, message)
    assert facts.failed_at is not None and facts.bounce == "hard"


def inbound(body: str, sender: str = "+33612345678", sid: str = "SMinbound0001") -> dict[str, str]:
    return {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": sender,
        "To": "+33757000000",
        "Body": body,
        "NumMedia": "0",
        "FromCountry": "FR",
    }


@pytest.mark.parametrize("text", ["STOP", "stop", " Stop. ", "ARRÊT", "arret", "Arrêt !", "STOP SMS"])
def test_an_inbound_stop_opts_out_of_sms_and_is_acknowledged_in_french(
    engine: Engine, client: TestClient, seeded: Seeded, text: str
) -> None:
    response = post_twilio(client, "/webhooks/twilio/inbound", inbound(text))
    assert response.status_code == 200
    assert "Vous ne recevrez plus de SMS de la CARSAT Centre-Ouest." in response.text
    assert response.text.startswith("<?xml") and "<Response><Message>" in response.text
    assert [tuple(r) for r in rows(engine, select(OptOut.person_id, OptOut.channel, OptOut.source))] == [
        ("P0001", "sms", "sms_stop")
    ]
    assert [tuple(r) for r in rows(engine, select(Suppression.value, Suppression.reason))] == [
        ("+33612345678", "sms_stop")
    ]
    assert engagement(engine, seeded.sms["P0001"]).unsubscribed_at is not None


@pytest.mark.parametrize("text", ["Je ne veux pas arrêter", "Arrêt maladie en 2019 ?", "Merci beaucoup", ""])
def test_other_inbound_texts_are_replies_not_opt_outs(
    engine: Engine, client: TestClient, seeded: Seeded, text: str
) -> None:
    response = post_twilio(client, "/webhooks/twilio/inbound", inbound(text))
    assert response.status_code == 200
    assert "3960" in response.text and "Vous ne recevrez plus" not in response.text
    assert count(engine, OptOut.__table__) == 0 and count(engine, Suppression.__table__) == 0
    assert engagement(engine, seeded.sms["P0001"]).replied_at is not None


def test_a_stop_from_a_number_we_never_texted_still_silences_it(engine: Engine, client: TestClient) -> None:
    response = post_twilio(client, "/webhooks/twilio/inbound", inbound("STOP", sender="+33700000001"))
    assert response.status_code == 200
    assert [tuple(r) for r in rows(engine, select(Suppression.value, Suppression.reason))] == [
        ("+33700000001", "sms_stop")
    ]
    assert rows(engine, select(DeliveryEvent.message_id, DeliveryEvent.event)) == [(None, "unsubscribed")]


def test_the_service_never_crashes_on_junk(engine: Engine, client: TestClient, key: SendGridKey) -> None:
    assert (
        client.post(
            "/webhooks/twilio/inbound", content=b"\xff\xfe", headers={"X-Twilio-Signature": "x"}
        ).status_code
        == 403
    )
    params = {"Body": "STOP"}  # signed, but no MessageSid / From
    assert post_twilio(client, "/webhooks/twilio/inbound", params).status_code == 400
    assert client.get("/webhooks/sendgrid").status_code == 405
    assert client.get("/people").status_code == 404
    assert client.get("/health").json()["database"] == "ok"


def test_half_an_emoji_in_an_event_does_not_hold_up_its_batch(
    engine: Engine, client: TestClient, key: SendGridKey, seeded: Seeded
) -> None:
    """JSON may carry half of a surrogate pair (`\\ud83d`, a truncated emoji in a user agent): Python
    reads it, UTF-8 cannot hold it. The batch is stored, neighbours included, rather than refused
    at every retry; the odd text is kept escaped, so nothing the provider said is lost."""
    message = seeded.email["P0001"]
    odd = sendgrid_event(
        "click", message, "ev-odd", useragent="Mozilla/5.0 \ud83d", url="https://a.fr/\udc00"
    )
    body = json.dumps([sendgrid_event("delivered", message, "ev-fine"), odd]).encode()
    assert b"\\ud83d" in body  # what reaches the service: an escape, valid JSON
    response = client.post("/webhooks/sendgrid", content=body, headers=key.headers(body))
    assert response.status_code == 200
    assert response.json()["stored"] == 2
    stored = {r.provider_event_id: r for r in rows(engine, select(DeliveryEvent.__table__))}
    assert json.loads(stored["ev-odd"].raw)["useragent"] == "Mozilla/5.0 \ud83d"
    assert stored["ev-odd"].url == "https://a.fr/\ufffd"
    assert engagement(engine, message).clicks == 1


def test_the_raw_payload_is_kept_as_canonical_json() -> None:
    """Ids derived for events without `sg_event_id` hash this text: it must not change between versions."""
    item = {"sg_event_id": "e1", "event": "open", "timestamp": 1764150000, "x": 1.5, "z": "é\n", "a": [2**70]}
    [parsed] = sendgrid.parse_batch(json.dumps([item]).encode(), utcnow())
    assert parsed.raw == json.dumps(item, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def test_the_service_uvicorn_runs_stores_signed_events_in_the_configured_database(
    sqlite_url: str, sqlite_engine: Engine, key: SendGridKey, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`outreach tracking serve` builds its app from the environment, with its own engine (a larger
    SQLite page cache and a memory map): events posted to it land in the configured database."""
    seeded = seed(sqlite_engine)
    monkeypatch.setenv("OUTREACH_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("OUTREACH_TRACKING_SECRET", SECRET.decode())
    monkeypatch.setenv("OUTREACH_TRACKING_BASE_URL", BASE_URL)
    monkeypatch.setenv("OUTREACH_SENDGRID_WEBHOOK_PUBLIC_KEY", key.public_key)
    monkeypatch.setenv("OUTREACH_VAR_DIR", str(tmp_path / "var"))
    message_id = next(iter(seeded.email.values()))
    monkeypatch.setattr(gc, "freeze", lambda: None)  # the service's start-up tuning, not this process's
    monkeypatch.setattr(gc, "set_threshold", lambda *_: None)
    with TestClient(app_from_environment(), base_url=BASE_URL) as client:
        assert client.get("/health").json()["database"] == "ok"
        response = post_sendgrid(client, key, [sendgrid_event("delivered", message_id, "ev-factory-1")])
    assert response.status_code == 200
    stored = rows(sqlite_engine, select(DeliveryEvent.message_id, DeliveryEvent.event))
    assert stored == [(message_id, "delivered")]
