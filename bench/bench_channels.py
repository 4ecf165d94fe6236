"""The delivery floor: how fast bare SDK calls and our channels reach the emulator.

    .venv/bin/python bench/bench_channels.py [--emails 20000] [--sms 5000] [--threads 8]

The emulator runs in its own process (no delivery events, bodies not kept) so the figures are the
client side's: SendGrid mail/send with 1,000 personalizations per request, Twilio one call per
message from a thread pool. Each is measured twice: the bare SDK with a pre-built request, and our
channel (substitution planning, retries, rate bucket, result classification) on the same messages.
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ThreadPoolExecutor

import sendgrid
from twilio.rest import Client

from outreach.channels.base import OutgoingMessage
from outreach.channels.sendgrid_email import SendGridChannel
from outreach.channels.twilio_sms import RedirectingHttpClient, TwilioChannel
from outreach.emulator.config import EmulatorConfig
from outreach.emulator.running import running_emulator

SENDER = ("ne-pas-repondre@carsat-centreouest.fr", "CARSAT Centre-Ouest")
NAMES = ["Zoé", "Hélène", "François", "Maëlle", "Jérôme", "Noël", "Agnès", "Benoît"]


def email(index: int) -> OutgoingMessage:
    name = NAMES[index % len(NAMES)]
    paragraph = "<p>Votre relevé de carrière récapitule vos droits acquis auprès de l’Assurance retraite.</p>"
    html = (
        f"<html><body><p>Bonjour {name},</p>{paragraph * 12}<p>Montant estimé : {1000 + index},00 €</p>"
        f'<a href="https://t.example/{index:07d}">Mon espace</a></body></html>'
    )
    text = f"Bonjour {name},\nVotre relevé de carrière est disponible.\nRéf. {index:07d}"
    return OutgoingMessage(
        f"bench-{index:07d}",
        f"P{index}",
        "email",
        f"assure{index}@exemple.fr",
        text,
        f"{name}, votre relevé",
        html,
    )


def sms(index: int) -> OutgoingMessage:
    body = f"CARSAT : votre RDV retraite est confirmé le 12/03 à 10h (réf. {index}). STOP 36180"
    return OutgoingMessage(f"bench-sms-{index:07d}", f"P{index}", "sms", f"+3361{index:07d}", body)


def rate(label: str, count: int, seconds: float) -> str:
    line = f"{label:<48} {count:>7} in {seconds:6.2f} s = {count / seconds:8.0f} msg/s"
    print(line, flush=True)
    return line


def bare_sendgrid(host: str, messages: list[OutgoingMessage]) -> float:
    client = sendgrid.SendGridAPIClient("SG.bench", host=host)
    payloads = [
        {
            "from": {"email": SENDER[0], "name": SENDER[1]},
            "personalizations": [
                {
                    "to": [{"email": m.to}],
                    "subject": m.subject,
                    "custom_args": {"outreach_message_id": m.message_key},
                }
                for m in messages[start : start + 1000]
            ],
            "content": [
                {"type": "text/plain", "value": messages[start].body},
                {"type": "text/html", "value": messages[start].html},
            ],
        }
        for start in range(0, len(messages), 1000)
    ]
    started = time.perf_counter()
    for payload in payloads:
        assert client.send(payload).status_code == 202
    return time.perf_counter() - started


def channel_sendgrid(host: str, messages: list[OutgoingMessage]) -> float:
    channel = SendGridChannel("SG.bench", host=host, sender=SENDER)
    started = time.perf_counter()
    for start in range(0, len(messages), 1000):
        results = channel.send(messages[start : start + 1000])
        assert all(r.outcome == "sent" for r in results)
    return time.perf_counter() - started


def bare_twilio(base: str, sid: str, token: str, messages: list[OutgoingMessage], threads: int) -> float:
    client = Client(sid, token, http_client=RedirectingHttpClient(base, threads, 10))

    def one(message: OutgoingMessage) -> str:
        return client.messages.create(to=message.to, from_="CARSAT", body=message.body).sid

    with ThreadPoolExecutor(threads) as pool:
        started = time.perf_counter()
        sids = list(pool.map(one, messages))
        elapsed = time.perf_counter() - started
    assert len(set(sids)) == len(messages)
    return elapsed


def channel_twilio(base: str, sid: str, token: str, messages: list[OutgoingMessage], threads: int) -> float:
    channel = TwilioChannel(
        sid,
        token,
        sender="CARSAT",
        base_url=base,
        status_callback="https://suivi.example/twilio/status?message_key={message_key}",
        rate_per_second=100_000,
        concurrency=threads,
    )
    started = time.perf_counter()
    for start in range(0, len(messages), 1000):
        assert all(r.outcome == "sent" for r in channel.send(messages[start : start + 1000]))
    elapsed = time.perf_counter() - started
    channel.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=20_000)
    parser.add_argument("--sms", type=int, default=5_000)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    emails = [email(i) for i in range(args.emails)]
    texts = [sms(i) for i in range(args.sms)]
    config = EmulatorConfig(events=False, store_content=False)
    print(f"cores: {os.cpu_count()}, emulator in its own process, events off", flush=True)
    with running_emulator(config, process=True) as emulator:
        rate(
            "e-mail, bare SDK, 1,000 per request", len(emails), bare_sendgrid(emulator.sendgrid_host, emails)
        )
        emulator.reset()
        rate(
            "e-mail, SendGridChannel (exact bodies)",
            len(emails),
            channel_sendgrid(emulator.sendgrid_host, emails),
        )
        emulator.reset()
        twilio = (emulator.twilio_base, emulator.account_sid, emulator.auth_token)
        rate(f"SMS, bare SDK, {args.threads} threads", len(texts), bare_twilio(*twilio, texts, args.threads))
        emulator.reset()
        rate(
            f"SMS, TwilioChannel, {args.threads} threads",
            len(texts),
            channel_twilio(*twilio, texts, args.threads),
        )


if __name__ == "__main__":
    main()
