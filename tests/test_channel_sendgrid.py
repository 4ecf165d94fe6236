"""SendGridChannel through the real SDK over HTTP against the emulator (no mocks)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from outreach.channels.base import OutgoingMessage
from outreach.channels.retry import RetryPolicy
from outreach.channels.sendgrid_email import SendGridChannel, plan
from outreach.emulator.config import EmulatorConfig, Faults
from outreach.emulator.running import EmulatorHandle, running_emulator
from outreach.rendering.form import Form

SENDER = ("ne-pas-repondre@carsat-centreouest.fr", "CARSAT Centre-Ouest")
FAST = RetryPolicy(attempts=6, base_delay=0.01, max_delay=1.0)
FIRST_NAMES = ["Zoé", "Hélène", "François", "Maëlle", "Jérôme", "Noël", "Agnès", "Benoît"]


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorHandle]:
    with running_emulator(EmulatorConfig(seed=11)) as handle:
        yield handle


@pytest.fixture(autouse=True)
def clean(emulator: EmulatorHandle) -> None:
    emulator.configure(sendgrid_faults=Faults(), seed=11, events=True)
    emulator.reset()


def channel(emulator: EmulatorHandle, **options: object) -> SendGridChannel:
    settings = {"sender": SENDER, "categories": ("relevé-de-carrière",), "timeout": 5.0, "retry": FAST}
    return SendGridChannel(emulator.api_key, host=emulator.sendgrid_host, **(settings | options))


def rendered(index: int) -> OutgoingMessage:
    """A body that differs from its neighbours at the start, in the middle and at the very end."""
    name = FIRST_NAMES[index % len(FIRST_NAMES)]
    amount = f"{1000 + index * 7},{index % 100:02d} €"
    extra = "<p>Votre dossier de réversion est en cours d’examen.</p>" if index % 3 == 0 else ""
    html = (
        f"<html><body><p>Bonjour {name},</p><p>Votre relevé de carrière est disponible : montant estimé "
        f"{amount}.</p>{extra}<p>Rendez-vous « Préparer ma retraite » le {1 + index % 28:02d}/03/2027."
        f'</p><p>L’équipe de la CARSAT Centre-Ouest</p><a href="https://t.example/{index:05d}">Lien</a>'
        f"</body></html><!-- {index:05d} -->"
    )
    text = f"Bonjour {name},\nMontant estimé : {amount}.\nÀ bientôt — CARSAT Centre-Ouest\nRéf. {index:05d}"
    return OutgoingMessage(
        message_key=f"run7-step1-person{index:05d}",
        person_id=f"P{index:05d}",
        channel="email",
        to=f"assure.{index}@exemple.fr",
        subject=f"{name}, votre relevé de carrière ({index})",
        body=text,
        html=html,
        categories=("parcours:suivre_ma_carriere",),
    )


def test_a_batch_of_1000_reaches_each_recipient_byte_for_byte(emulator: EmulatorHandle) -> None:
    batch = [rendered(i) for i in range(1000)]
    results = channel(emulator).send(batch)

    assert sorted(r.message_key for r in results) == sorted(m.message_key for m in batch)
    assert {r.outcome for r in results} == {"sent"}
    assert emulator.stats()["sendgrid_accepted"] == 1000
    delivered = {d["custom_args"]["outreach_message_id"]: d for d in emulator.messages()["sendgrid"]}
    assert len(delivered) == 1000
    for message in batch:
        got = delivered[message.message_key]
        assert got["recipient"] == message.to
        assert got["subject"] == message.subject
        assert got["html"].encode() == message.html.encode()
        assert got["text"].encode() == message.body.encode()
        assert got["categories"] == ["relevé-de-carrière", "parcours:suivre_ma_carriere"]


def test_a_batch_shares_content_and_sends_only_the_middles() -> None:
    batch = [rendered(i) for i in range(10)]
    (request,) = plan(batch)
    html_part = next(p for p in request.parts if p.mime == "text/html")
    assert html_part.value.startswith("<html><body><p>Bonjour ")
    assert html_part.value.endswith(" -->")
    assert all(html_part.tag in s for s in request.substitutions)


def test_a_middle_over_the_substitution_limit_is_sent_alone_and_exact(emulator: EmulatorHandle) -> None:
    batch = [rendered(i) for i in range(5)]
    huge = "é" * 6000  # 12,000 bytes of UTF-8: over SendGrid's 10,000-byte substitution limit
    batch[2] = OutgoingMessage(**{**batch[2].__dict__, "html": batch[2].html.replace("Lien", huge)})
    requests = list(plan(batch))
    assert [len(r.messages) for r in requests] == [4, 1]

    results = channel(emulator).send(batch)

    assert {r.outcome for r in results} == {"sent"}
    delivered = {d["custom_args"]["outreach_message_id"]: d for d in emulator.messages()["sendgrid"]}
    for message in batch:
        assert delivered[message.message_key]["html"] == message.html
        assert delivered[message.message_key]["text"] == message.body


def test_identical_bodies_need_no_substitution(emulator: EmulatorHandle) -> None:
    base = rendered(0)
    batch = [
        OutgoingMessage(**{**base.__dict__, "message_key": f"k{i}", "to": f"m{i}@exemple.fr"})
        for i in range(3)
    ]
    (request,) = plan(batch)
    assert request.substitutions == ({}, {}, {})
    channel(emulator).send(batch)
    assert {d["html"] for d in emulator.messages()["sendgrid"]} == {base.html}


HTML_TEXTS = ("<html><body><p>Bonjour ", ",</p><p>Réf. ", " — ", '</p><a href="', '">Lien</a></body></html>')
TEXT_TEXTS = ("Bonjour ", ",\nRéf. ", "\n")


def stencilled(index: int, html_texts: tuple[str, ...] = HTML_TEXTS) -> OutgoingMessage:
    """A message as the renderer fills it from a stencil: shared texts, this person's values."""
    name = FIRST_NAMES[index % len(FIRST_NAMES)]
    html = Form(html_texts, (name, f"{index:05d}", "CARSAT Centre-Ouest", f"https://t.example/{index:05d}"))
    text = Form(TEXT_TEXTS, (name, f"{index:05d}"))
    return OutgoingMessage(
        message_key=f"run8-step1-person{index:05d}",
        person_id=f"P{index:05d}",
        channel="email",
        to=f"assure.{index}@exemple.fr",
        subject="Votre relevé de carrière",
        body=text.text(),
        html=html.text(),
        body_form=text,
        html_form=html,
    )


def test_stencilled_messages_share_their_texts_and_send_only_the_values_that_differ() -> None:
    batch = [stencilled(i) for i in range(10)]
    (request,) = plan(batch)
    html_part = next(p for p in request.parts if p.mime == "text/html")
    assert html_part.value.startswith("<html><body><p>Bonjour -outreach-")
    assert " — CARSAT Centre-Ouest</p>" in html_part.value  # the same for everyone: written in
    assert all(len(s) == 5 for s in request.substitutions)  # name and reference twice, link once
    assert all(sum(map(len, s.values())) < 80 for s in request.substitutions)  # values only, not the body


def test_stencilled_and_other_messages_together_each_arrive_exact(emulator: EmulatorHandle) -> None:
    other_texts = ("<html><body><p>Chère ", ",</p><p>", " ", "</p><p>", "</p></body></html>")
    batch = [stencilled(i) for i in range(0, 30)] + [stencilled(i, other_texts) for i in range(30, 45)]
    batch += [rendered(i) for i in range(45, 60)] + [stencilled(60)]
    batch.insert(7, OutgoingMessage(**{**stencilled(61).__dict__, "html": "<p>seul</p>", "html_form": None}))
    assert [len(r.messages) for r in plan(batch)] == [31, 15, 16]

    results = channel(emulator).send(batch)

    assert {r.outcome for r in results} == {"sent"}
    delivered = {d["custom_args"]["outreach_message_id"]: d for d in emulator.messages()["sendgrid"]}
    assert len(delivered) == len(batch)
    for message in batch:
        assert delivered[message.message_key]["html"] == message.html
        assert delivered[message.message_key]["text"] == message.body


def with_unsubscribe(message: OutgoingMessage, index: int) -> OutgoingMessage:
    """`message` with the headers the renderer gives an information e-mail (its own signed URL)."""
    headers = {
        "List-Unsubscribe": f"<https://suivi.carsat-centreouest.fr/u/jeton-{index:05d}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "X-Outreach-Message-Class": "information",
    }
    return OutgoingMessage(**{**message.__dict__, "headers": headers})


def test_1000_stencilled_messages_share_one_content_and_each_keeps_its_own_headers(
    emulator: EmulatorHandle,
) -> None:
    batch = [with_unsubscribe(stencilled(i), i) for i in range(1000)]
    (request,) = plan(batch)  # one request: one shared content, 1,000 personalizations
    assert len(request.messages) == 1000

    assert {r.outcome for r in channel(emulator).send(batch)} == {"sent"}

    delivered = {d["custom_args"]["outreach_message_id"]: d for d in emulator.messages()["sendgrid"]}
    assert len(delivered) == 1000
    for message in batch:
        got = delivered[message.message_key]
        assert got["headers"] == message.headers
        assert got["html"] == message.html and got["text"] == message.body


def test_a_reserved_header_is_refused_like_sendgrid_does(emulator: EmulatorHandle) -> None:
    message = OutgoingMessage(**{**rendered(2).__dict__, "headers": {"Subject": "Autre objet"}})
    (result,) = channel(emulator).send([message])
    assert result.outcome == "failed" and "reserved" in (result.reason or "")


def test_sandbox_mode_validates_without_delivering(emulator: EmulatorHandle) -> None:
    results = channel(emulator, sandbox=True).send([rendered(i) for i in range(3)])
    assert {r.outcome for r in results} == {"sent"}
    assert all("sandbox" in (r.reason or "") for r in results)
    assert emulator.messages()["sendgrid"] == []
    assert emulator.stats()["sendgrid_sandbox"] == 1


def test_an_invalid_recipient_is_isolated_by_bisection(emulator: EmulatorHandle) -> None:
    batch = [rendered(i) for i in range(64)]
    batch[37] = OutgoingMessage(**{**batch[37].__dict__, "to": "jean.dupont@"})

    results = {r.message_key: r for r in channel(emulator).send(batch)}

    bad = results[batch[37].message_key]
    assert bad.outcome == "failed"
    assert "Does not contain a valid address" in (bad.reason or "")
    assert [k for k, r in results.items() if r.outcome != "sent"] == [batch[37].message_key]
    assert emulator.stats()["sendgrid_accepted"] == 63


def test_a_permanent_400_fails_with_the_providers_reason(emulator: EmulatorHandle) -> None:
    message = OutgoingMessage(**{**rendered(1).__dict__, "subject": None})
    (result,) = channel(emulator).send([message])
    assert result.outcome == "failed"
    assert result.reason is not None and "The subject is required" in result.reason


def test_throttling_and_server_errors_are_retried_until_sent(emulator: EmulatorHandle) -> None:
    emulator.configure(sendgrid_faults=Faults(rate_429=0.2, rate_500=0.1, rate_503=0.1, retry_after=0.05))
    sender = channel(emulator, retry=RetryPolicy(attempts=10, base_delay=0.01, max_delay=1.0))
    results = [r for i in range(0, 200, 20) for r in sender.send([rendered(j) for j in range(i, i + 20)])]
    stats = emulator.stats()
    assert {r.outcome for r in results} == {"sent"}
    assert stats.get("sendgrid_fault_429", 0) > 0
    assert stats.get("sendgrid_fault_500", 0) + stats.get("sendgrid_fault_503", 0) > 0
    assert stats["sendgrid_accepted"] == 200


def test_retries_have_a_bound(emulator: EmulatorHandle) -> None:
    emulator.configure(sendgrid_faults=Faults(rate_503=1.0))
    results = channel(emulator, retry=RetryPolicy(attempts=3, base_delay=0.01)).send([rendered(1)])
    assert [(r.outcome, r.reason) for r in results] == [("retry", "sendgrid 503: service unavailable")]
    assert emulator.stats()["sendgrid_fault_503"] == 3


def test_accepted_then_timed_out_is_ambiguous_and_reconcile_finds_it(emulator: EmulatorHandle) -> None:
    emulator.configure(sendgrid_faults=Faults(accept_then_timeout=1.0, hold_seconds=5))
    batch = [rendered(i) for i in range(3)]
    sender = channel(emulator, timeout=1.0)
    started = time.monotonic()
    results = sender.send(batch)
    assert time.monotonic() - started < 4  # well before the 5 s hold: the client gave up
    assert {r.outcome for r in results} == {"ambiguous"}

    emulator.configure(sendgrid_faults=Faults())
    found = sender.reconcile([m.message_key for m in batch] + ["never-sent"]).found
    assert set(found) == {m.message_key for m in batch}
    assert all(".filterdrecv-" in msg_id for msg_id in found.values())


def test_a_request_that_timed_out_unprocessed_is_not_found(emulator: EmulatorHandle) -> None:
    emulator.configure(sendgrid_faults=Faults(timeout=1.0, hold_seconds=5))
    sender = channel(emulator, timeout=1.0)
    (result,) = sender.send([rendered(4)])
    assert result.outcome == "ambiguous"
    emulator.configure(sendgrid_faults=Faults())
    assert sender.reconcile([rendered(4).message_key]).found == {}


def test_an_unreachable_provider_is_a_transient_fault() -> None:
    sender = SendGridChannel(
        "SG.key", host="http://127.0.0.1:9", sender=SENDER, retry=RetryPolicy(attempts=2, base_delay=0.01)
    )
    (result,) = sender.send([rendered(1)])
    assert result.outcome == "retry"
    assert "could not reach the provider" in (result.reason or "")


def test_events_carry_the_key_and_categories(emulator: EmulatorHandle) -> None:
    channel(emulator).send([rendered(i) for i in range(20)])
    events = emulator.wait_for_events()["sendgrid"]
    keys = {rendered(i).message_key for i in range(20)}
    assert {e["outreach_message_id"] for e in events} == keys
    assert all(e["category"] == ["relevé-de-carrière", "parcours:suivre_ma_carriere"] for e in events)
