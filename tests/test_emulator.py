"""The emulator's API surface, event webhooks and faults, through HTTP and the real SDKs."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
import sendgrid
from python_http_client.exceptions import BadRequestsError, UnauthorizedError
from sendgrid.helpers.eventwebhook import EventWebhook
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from outreach.channels.twilio_sms import RedirectingHttpClient
from outreach.emulator.config import EmailEventRates, EmulatorConfig, Faults, SmsEventRates
from outreach.emulator.running import EmulatorHandle, running_emulator
from outreach.emulator.sms_segments import count_segments, encoding

SENDER = {"email": "ne-pas-repondre@carsat-centreouest.fr", "name": "CARSAT Centre-Ouest"}


class Receiver:
    """A tiny webhook endpoint on a free port that keeps what it is posted, raw."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        received = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append({"path": self.path, "headers": dict(self.headers), "body": body})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorHandle]:
    with running_emulator(EmulatorConfig(seed=3, sendgrid_api_key="SG.test-key")) as handle:
        yield handle


@pytest.fixture(autouse=True)
def clean(emulator: EmulatorHandle, receiver: Receiver) -> None:
    emulator.configure(
        sendgrid_faults=Faults(),
        twilio_faults=Faults(),
        sendgrid_webhook_url=None,
        email_events=EmailEventRates(),
        sms_events=SmsEventRates(),
        seed=3,
    )
    emulator.reset()
    receiver.posts.clear()


def mail(to: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "from": SENDER,
        "subject": "Votre relevé de carrière",
        "content": [{"type": "text/plain", "value": "Bonjour -nom-, à bientôt !"}],
        "personalizations": [
            {
                "to": [{"email": address}],
                "substitutions": {"-nom-": f"Agnès {i}"},
                "custom_args": {"k": f"m{i}"},
            }
            for i, address in enumerate(to)
        ],
        **extra,
    }


def sg(emulator: EmulatorHandle, key: str = "SG.test-key") -> sendgrid.SendGridAPIClient:
    return sendgrid.SendGridAPIClient(key, host=emulator.sendgrid_host)


def twilio(emulator: EmulatorHandle) -> Client:
    http = RedirectingHttpClient(emulator.twilio_base, pool_size=2, timeout=5)
    return Client(emulator.account_sid, emulator.auth_token, http_client=http)


def test_mail_send_accepts_applies_substitutions_and_names_the_message(emulator: EmulatorHandle) -> None:
    response = sg(emulator).send(mail(["zoe@exemple.fr", "noel@exemple.fr"], categories=["rappel"]))
    assert response.status_code == 202
    message_id = response.headers["X-Message-Id"]
    delivered = emulator.messages()["sendgrid"]
    assert [(d["recipient"], d["text"], d["custom_args"]) for d in delivered] == [
        ("zoe@exemple.fr", "Bonjour Agnès 0, à bientôt !", {"k": "m0"}),
        ("noel@exemple.fr", "Bonjour Agnès 1, à bientôt !", {"k": "m1"}),
    ]
    assert all(d["sg_message_id"].startswith(message_id + ".") for d in delivered)
    assert delivered[0]["categories"] == ["rappel"]


def test_substitution_is_a_single_pass() -> None:
    from outreach.emulator.sendgrid_api import substitute

    assert substitute("-a- et -b-", {"-a-": "-b-", "-b-": "é"}) == "-b- et é"


def test_a_missing_or_wrong_key_is_401(emulator: EmulatorHandle) -> None:
    with pytest.raises(UnauthorizedError):
        sg(emulator, key="SG.wrong").send(mail(["zoe@exemple.fr"]))
    response = httpx.post(emulator.base_url + "/v3/mail/send", json=mail(["zoe@exemple.fr"]))
    assert response.status_code == 401
    assert response.json()["errors"][0]["field"] is None


def test_a_bad_payload_gets_sendgrids_error_shape(emulator: EmulatorHandle) -> None:
    with pytest.raises(BadRequestsError) as raised:
        sg(emulator).send(mail(["zoe@exemple.fr", "pas-une-adresse"]))
    assert json.loads(raised.value.body) == {
        "errors": [
            {
                "message": "Does not contain a valid address.",
                "field": "personalizations.1.to.0.email",
                "help": None,
            }
        ]
    }
    too_many = mail([f"p{i}@exemple.fr" for i in range(1001)])
    with pytest.raises(BadRequestsError):
        sg(emulator).send(too_many)
    no_content = mail(["zoe@exemple.fr"])
    del no_content["content"]
    with pytest.raises(BadRequestsError) as raised:
        sg(emulator).send(no_content)
    assert json.loads(raised.value.body)["errors"][0]["field"] == "content"
    assert emulator.messages()["sendgrid"] == []


def test_sandbox_mode_answers_200_and_delivers_nothing(emulator: EmulatorHandle) -> None:
    response = sg(emulator).send(mail(["zoe@exemple.fr"], mail_settings={"sandbox_mode": {"enable": True}}))
    assert response.status_code == 200
    assert "X-Message-Id" not in response.headers
    assert emulator.messages()["sendgrid"] == []


def test_the_activity_lookup_finds_messages_by_unique_args(emulator: EmulatorHandle) -> None:
    sg(emulator).send(mail(["a@exemple.fr", "b@exemple.fr", "c@exemple.fr"]))
    query = 'unique_args[\'k\'] IN ("m0","m2") OR unique_args[\'k\']="absent"'
    response = sg(emulator).client.messages.get(query_params={"query": query, "limit": 10})
    found = json.loads(response.body)["messages"]
    assert sorted(m["to_email"] for m in found) == ["a@exemple.fr", "c@exemple.fr"]


def test_signed_event_batches_verify_with_sendgrids_helper(
    emulator: EmulatorHandle, receiver: Receiver
) -> None:
    emulator.configure(sendgrid_webhook_url=receiver.url + "/sendgrid/events")
    addresses = [f"assure{i}@exemple.fr" for i in range(30)] + [
        "jean+bounce@exemple.fr",
        "marie+click@exemple.fr",
    ]
    sg(emulator).send(mail(addresses, categories=["parcours:bereavement"]))
    emulator.wait_for_events()

    assert receiver.posts
    verifier = EventWebhook()
    key = verifier.convert_public_key_to_ecdsa(emulator.public_key)
    events = []
    for post in receiver.posts:
        body = post["body"].decode("utf-8")
        signature = post["headers"]["X-Twilio-Email-Event-Webhook-Signature"]
        timestamp = post["headers"]["X-Twilio-Email-Event-Webhook-Timestamp"]
        assert verifier.verify_signature(body, signature, timestamp, key)
        assert not verifier.verify_signature(body.replace("assure", "assurE"), signature, timestamp, key)
        events += json.loads(body)

    by_email: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_email.setdefault(event["email"], []).append(event)
    assert set(by_email) == set(addresses)
    (bounce,) = [e for e in by_email["jean+bounce@exemple.fr"] if e["event"] == "bounce"]
    assert (bounce["type"], bounce["status"]) == ("bounce", "5.1.1")
    click = next(e for e in by_email["marie+click@exemple.fr"] if e["event"] == "click")
    assert click["url"].startswith("https://")
    opens = [e for e in events if e["event"] == "open"]
    assert {e["sg_machine_open"] for e in opens} == {True, False}
    assert len({e["sg_event_id"] for e in events}) == len(events)
    assert all(e["category"] == "parcours:bereavement" and e["k"].startswith("m") for e in events)


def test_twilio_create_list_and_errors_through_the_sdk(emulator: EmulatorHandle) -> None:
    client = twilio(emulator)
    created = [
        client.messages.create(to=f"+3361111{i:04d}", from_="CARSAT", body="Votre RDV est confirmé.")
        for i in range(5)
    ]
    assert all(m.sid.startswith("SM") and m.status == "queued" and m.num_segments == "1" for m in created)
    listed = client.messages.list(page_size=2)
    assert [m.sid for m in listed] == [m.sid for m in reversed(created)]
    assert [m.sid for m in client.messages.list(to="+33611110003")] == [created[3].sid]
    with pytest.raises(TwilioRestException) as raised:
        client.messages.create(to="+33", from_="CARSAT", body="x")
    assert (raised.value.status, raised.value.code) == (400, 21211)
    wrong = Client(emulator.account_sid, "not-the-token", http_client=client.http_client)
    with pytest.raises(TwilioRestException) as raised:
        wrong.messages.create(to="+33611110000", from_="CARSAT", body="x")
    assert (raised.value.status, raised.value.code) == (401, 20003)


def test_twilios_public_message_resource_does_not_echo_the_status_callback(emulator: EmulatorHandle) -> None:
    """Real Twilio keeps StatusCallback to itself: reconciliation must not rely on reading it back."""
    client = twilio(emulator)
    callback = "https://suivi.carsat-centreouest.fr/webhooks/twilio/status?m=m12"
    created = client.messages.create(
        to="+33611112222", from_="CARSAT", body="Votre RDV est confirmé.", status_callback=callback
    )
    base = f"{emulator.twilio_base}/2010-04-01/Accounts/{emulator.account_sid}"
    auth = (emulator.account_sid, emulator.auth_token)
    listed = httpx.get(f"{base}/Messages.json", auth=auth).json()["messages"]
    fetched = httpx.get(f"{base}/Messages/{created.sid}.json", auth=auth).json()
    assert [m["sid"] for m in listed] == [created.sid] == [fetched["sid"]]
    assert "status_callback" not in listed[0] and "status_callback" not in fetched
    # the emulator's own inspection endpoint still tells tests what it received
    (received,) = emulator.messages()["twilio"]
    assert received["status_callback"] == callback


def test_status_callbacks_are_signed_as_twilio_does(emulator: EmulatorHandle, receiver: Receiver) -> None:
    emulator.configure(sms_events=SmsEventRates(undelivered=0.5, failed=0.0))
    client = twilio(emulator)
    callback = receiver.url + "/twilio/status?message_key=r1%2Fs1%2Fp{}"
    for i in range(6):
        client.messages.create(
            to=f"+3361111{i:04d}", from_="CARSAT", body="Bonjour", status_callback=callback.format(i)
        )
    emulator.wait_for_events()

    validator = RequestValidator(emulator.auth_token)
    statuses: dict[str, list[str]] = {}
    for post in receiver.posts:
        params = dict(parse_qsl(post["body"].decode()))
        url = receiver.url + post["path"]
        assert validator.validate(url, params, post["headers"]["X-Twilio-Signature"])
        assert not validator.validate(
            url, {**params, "MessageStatus": "delivered!"}, post["headers"]["X-Twilio-Signature"]
        )
        statuses.setdefault(params["MessageSid"], []).append(params["MessageStatus"])
    assert len(statuses) == 6
    # With no spacing the three callbacks of a message race each other, as Twilio's may.
    finals = {sid: (set(sequence) - {"queued", "sent"}).pop() for sid, sequence in statuses.items()}
    assert set(finals.values()) == {"delivered", "undelivered"}
    assert all(len(sequence) == 3 and {"queued", "sent"} < set(sequence) for sequence in statuses.values())
    resources = {m["sid"]: m for m in emulator.messages()["twilio"]}
    assert {sid: resources[sid]["status"] for sid in statuses} == finals


def test_events_stay_in_memory_without_a_webhook(emulator: EmulatorHandle) -> None:
    twilio(emulator).messages.create(to="+33611110000", from_="CARSAT", body="Bonjour")
    events = emulator.wait_for_events()
    assert events["pending"] == 0
    assert [e["params"]["MessageStatus"] for e in events["twilio"]][:2] == ["queued", "sent"]


def fault_sequence(emulator: EmulatorHandle) -> list[int]:
    codes = []
    client = httpx.Client(base_url=emulator.base_url, headers={"Authorization": "Bearer SG.test-key"})
    for _ in range(30):
        response = client.post("/v3/mail/send", json=mail(["zoe@exemple.fr"]))
        codes.append(response.status_code)
        if response.status_code == 429:
            assert response.headers["Retry-After"] == "2"
    return codes


def test_faults_are_reproducible_with_a_seed(emulator: EmulatorHandle) -> None:
    emulator.configure(sendgrid_faults=Faults(rate_429=0.3, rate_500=0.2, rate_503=0.1, retry_after=2))
    emulator.reset()
    first = fault_sequence(emulator)
    emulator.reset()
    assert fault_sequence(emulator) == first
    assert {202, 429, 500, 503} <= set(first)


def test_a_timeout_holds_the_connection(emulator: EmulatorHandle) -> None:
    emulator.configure(twilio_faults=Faults(timeout=1.0, hold_seconds=3))
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            f"{emulator.base_url}/2010-04-01/Accounts/{emulator.account_sid}/Messages.json",
            data={"To": "+33611110000", "From": "CARSAT", "Body": "Bonjour"},
            auth=(emulator.account_sid, emulator.auth_token),
            timeout=0.3,
        )
    assert emulator.messages()["twilio"] == []


def test_unknown_settings_are_refused(emulator: EmulatorHandle) -> None:
    response = httpx.post(emulator.base_url + "/_emulator/config", json={"fault_rat": 0.2})
    assert response.status_code == 400
    assert "fault_rat" in response.json()["error"]


@pytest.mark.parametrize(
    ("body", "expected_encoding", "segments"),
    [
        ("Bonjour Zoé, votre RDV à Poitiers est confirmé.", "GSM-7", 1),
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("€" * 80, "GSM-7", 1),
        ("€" * 81, "GSM-7", 2),
        ("L’agence", "UCS-2", 1),
        ("ç", "UCS-2", 1),
        ("ê" * 70, "UCS-2", 1),
        ("ê" * 71, "UCS-2", 2),
        ("ê" * 135, "UCS-2", 3),
    ],
)
def test_sms_segments(body: str, expected_encoding: str, segments: int) -> None:
    assert encoding(body) == expected_encoding
    assert count_segments(body) == segments
