"""List-Unsubscribe on every e-mail, per recipient, with its own message's signed one-click URL.

A campaign step goes through the real SendGrid SDK to the emulator (1,000 personalizations share one
content, filled per person), or into the outbox; each recipient's headers are checked against the
tracking service's own token verifier, and the one-click POST a mailbox makes is sent to the tracking
app. Service messages (a complaint's acknowledgement) say so and offer no one-click button.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from test_tracking_support import BASE_URL, SECRET, SendGridKey, client_for, settings_for

from outreach.campaigns.library import load_campaigns
from outreach.campaigns.runner import CampaignRunner, Composer
from outreach.channels.outbox import KEY_HEADER, OutboxChannel
from outreach.delivery.pipeline import ClaimedMessage
from outreach.emulator.config import EmulatorConfig
from outreach.emulator.running import EmulatorHandle, running_emulator
from outreach.models import Message, OptOut
from outreach.rendering import Renderer
from outreach.rendering.samples import SAMPLE_EXTRA
from outreach.tracking.links import LinkBuilder
from outreach.tracking.tokens import Purpose, TokenSigner
from tests.emulated import emulated_channels
from tests.people import load, person

AS_OF = date(2026, 11, 26)
NOW = datetime(2026, 11, 26, 9, 30)  # 10:30 in Paris, a Thursday
BORN_NOVEMBER_1991 = date(1991, 11, 14)  # turns 35 this month: in career_statement_35
SIGNER = TokenSigner(SECRET)
LINKS = LinkBuilder(BASE_URL, SIGNER)
ONE_CLICK = "List-Unsubscribe=One-Click"


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorHandle]:
    with running_emulator(EmulatorConfig(seed=5, events=False)) as handle:
        yield handle


def _unsubscribed_message(header: str) -> int:
    """The message id the URL of a List-Unsubscribe header is signed for (the verifier raises if none)."""
    assert header.startswith(f"<{BASE_URL}/u/") and header.endswith(">"), header
    token = header[1:-1].rsplit("/", 1)[1]
    return SIGNER.verify(token, Purpose.UNSUBSCRIBE).message_id


def _email_message_ids(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(Message.id, Message.person_id).where(Message.channel == "email", Message.status == "sent")
        ).all()
    return {f"m{row.id}": row.id for row in rows}


def test_each_recipient_gets_its_own_one_click_unsubscribe_through_sendgrid(
    engine: Engine, emulator: EmulatorHandle, tmp_path: Path
) -> None:
    emulator.reset()
    load(engine, [person(i, BORN_NOVEMBER_1991) for i in range(40)])
    library = load_campaigns()
    channels = emulated_channels(emulator, library.renderer, tmp_path)
    runner = CampaignRunner(engine, library, channels, links_for=LINKS.for_message)

    runner.run_step("career_statement_35", "first_contact", AS_OF, now=NOW)

    sent = _email_message_ids(engine)
    delivered = emulator.messages()["sendgrid"]
    assert len(sent) > 20 and len(delivered) == len(sent)
    urls = set()
    for email in delivered:
        key = email["custom_args"]["outreach_message_id"]
        headers = email["headers"]
        assert _unsubscribed_message(headers["List-Unsubscribe"]) == sent[key]
        assert headers["List-Unsubscribe"] == f"<{LINKS.unsubscribe(sent[key])}>"
        assert headers["List-Unsubscribe-Post"] == ONE_CLICK
        assert headers["X-Outreach-Message-Class"] == "information"
        assert LINKS.unsubscribe(sent[key]) in email["text"]  # the footer's link is the same one
        urls.add(headers["List-Unsubscribe"])
    assert len(urls) == len(delivered)

    # The mailbox's button: a POST of List-Unsubscribe=One-Click to that URL, nothing else.
    chosen = delivered[0]
    url = chosen["headers"]["List-Unsubscribe"][1:-1]
    client = client_for(engine, settings_for(tmp_path, SendGridKey()))
    response = client.post(
        url.removeprefix(BASE_URL),
        content=ONE_CLICK,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    with engine.connect() as connection:
        person_id = connection.scalar(
            select(Message.person_id).where(Message.id == sent[chosen["custom_args"]["outreach_message_id"]])
        )
        opt_outs = connection.execute(select(OptOut.person_id, OptOut.channel, OptOut.source)).all()
    assert [tuple(row) for row in opt_outs] == [(person_id, "email", "unsubscribe")]


def test_the_outbox_eml_carries_the_same_headers(engine: Engine, tmp_path: Path) -> None:
    load(engine, [person(i, BORN_NOVEMBER_1991) for i in range(12)])
    outbox = tmp_path / "outbox"
    library = load_campaigns()
    runner = CampaignRunner(
        engine,
        library,
        {"email": OutboxChannel(outbox, "email"), "sms": OutboxChannel(outbox, "sms")},
        links_for=LINKS.for_message,
    )

    runner.run_step("career_statement_35", "first_contact", AS_OF, now=NOW)

    sent = _email_message_ids(engine)
    files = sorted(outbox.glob("*.eml"))
    assert len(files) == len(sent) > 5
    for path in files:
        parsed = message_from_bytes(path.read_bytes(), policy=policy.default)
        message_id = sent[parsed[KEY_HEADER]]
        unsubscribe = parsed["List-Unsubscribe"].strip()  # folded onto its own line: longer than 78
        assert unsubscribe == f"<{LINKS.unsubscribe(message_id)}>"
        assert _unsubscribed_message(unsubscribe) == message_id
        assert parsed["List-Unsubscribe-Post"] == ONE_CLICK
        assert parsed["X-Outreach-Message-Class"] == "information"


@pytest.mark.parametrize("template", ["complaint_acknowledgement", "complaint_follow_up_fragile"])
def test_a_service_message_says_so_and_offers_no_one_click_button(
    emulator: EmulatorHandle, tmp_path: Path, template: str
) -> None:
    emulator.reset()
    renderer = Renderer()
    composer = Composer(renderer, AS_OF, LINKS.for_message, ("complaint_follow_up", "acknowledgement"))
    people = [person(i, date(1958, 1, 27)) for i in range(3)]
    composer.extra = {p["person_id"]: SAMPLE_EXTRA for p in people}
    outgoing = [
        composer(ClaimedMessage(700 + i, p["person_id"], "email", template, "standard"), p)
        for i, p in enumerate(people)
    ]
    channels = emulated_channels(emulator, renderer, tmp_path)

    assert {r.outcome for r in channels["email"].send(outgoing)} == {"sent"}

    for email in emulator.messages()["sendgrid"]:
        message_id = int(email["custom_args"]["outreach_message_id"].removeprefix("m"))
        headers = email["headers"]
        assert headers["X-Outreach-Message-Class"] == "service"
        assert _unsubscribed_message(headers["List-Unsubscribe"]) == message_id  # objecting stays possible
        assert "List-Unsubscribe-Post" not in headers  # but not from a mailbox button, unasked
