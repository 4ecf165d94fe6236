"""The delivery floor: how fast bare SDK calls and our channels reach the emulator.

    .venv/bin/python bench/bench_channels.py [--emails 20000] [--sms 5000] [--threads 8]
        [--in-flight 32] [--rounds 1]

The emulator runs in its own process (no delivery events, bodies not kept) so the figures are the
client side's: SendGrid mail/send with 1,000 personalizations per request, Twilio one call per
message. Each is measured as the bare SDK with a pre-built request, and as our channel (substitution
planning, retries, rate bucket, result classification) on the same messages. Twilio's bare SDK is
measured three ways: blocking calls from a thread pool, `create_async` over the SDK's own
`AsyncTwilioHttpClient`, and `create_async` over our `TwilioTransport` (what `TwilioChannel` uses).
The SMS variants run back to back, `--rounds` times in turn, each line with the load average, since
the machine is shared. `--emails 0` skips e-mail.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import sendgrid
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from outreach.channels.base import OutgoingMessage
from outreach.channels.sendgrid_email import SendGridChannel
from outreach.channels.twilio_sms import RedirectingHttpClient, TwilioChannel
from outreach.channels.twilio_transport import TWILIO_API, TwilioTransport
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


def rate(label: str, count: int, seconds: float, cpu: tuple[float, float] | None = None) -> str:
    """One figure, with the load average (the machine is shared) and, when given, the CPU it took."""
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    line = f"{label:<52} {count:>7} in {seconds:6.2f} s = {count / seconds:8.0f} msg/s"
    if cpu is not None:
        line += f" | CPU ms/msg: client {cpu[0] * 1000 / count:.3f}, emulator {cpu[1] * 1000 / count:.3f}"
    print(f"{line} | load {load}", flush=True)
    return line


def cpu_seconds() -> tuple[float, float]:
    """CPU seconds used so far by this process and by its live children (the emulator), from /proc.

    Wall-clock rates swing with other people's load on this machine; CPU per message does not, and
    says which side would limit the rate on a core of its own.
    """
    tick = os.sysconf("SC_CLK_TCK")
    ours, children = 0.0, 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used = (int(fields[11]) + int(fields[12])) / tick
        if stat.parent.name == str(os.getpid()):
            ours = used
        elif int(fields[1]) == os.getpid():
            children += used
    return ours, children


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


class RedirectingAsyncClient(AsyncTwilioHttpClient):
    """The SDK's own async client, untouched but for the base URL (the emulator)."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self._base_url = base_url

    async def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        return await super().request(method, self._base_url + url[len(TWILIO_API) :], *args, **kwargs)


async def bare_twilio_async(
    http: Callable[[], Any], sid: str, token: str, messages: list[OutgoingMessage], in_flight: int
) -> float:
    """`in_flight` coroutines each take the next message, on one event loop (as TwilioChannel does)."""
    transport = http()  # aiohttp wants a running loop to make its session
    client = Client(sid, token, http_client=transport)
    queue = iter(messages)
    sids: list[str] = []

    async def worker() -> None:
        for message in queue:
            sent = await client.messages.create_async(to=message.to, from_="CARSAT", body=message.body)
            sids.append(sent.sid)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    elapsed = time.perf_counter() - started
    await transport.close()
    assert len(set(sids)) == len(messages)
    return elapsed


def channel_twilio(base: str, sid: str, token: str, messages: list[OutgoingMessage], in_flight: int) -> float:
    channel = TwilioChannel(
        sid,
        token,
        sender="CARSAT",
        base_url=base,
        status_callback="https://suivi.example/twilio/status?message_key={message_key}",
        rate_per_second=100_000,
        concurrency=in_flight,
    )
    started = time.perf_counter()
    for start in range(0, len(messages), 1000):
        assert all(r.outcome == "sent" for r in channel.send(messages[start : start + 1000]))
    elapsed = time.perf_counter() - started
    channel.close()
    return elapsed


def sms_variants(
    base: str, sid: str, token: str, threads: int, in_flight: int
) -> list[tuple[str, Callable[[list[OutgoingMessage]], float]]]:
    """Each SMS variant: its label and how to time it on a list of messages."""

    def stock() -> RedirectingAsyncClient:
        return RedirectingAsyncClient(base)

    def ours() -> TwilioTransport:
        return TwilioTransport(base, in_flight, 10)

    return [
        (f"SMS, bare SDK, {threads} threads", lambda m: bare_twilio(base, sid, token, m, threads)),
        (
            f"SMS, bare SDK async, stock client, {in_flight} in flight",
            lambda m: asyncio.run(bare_twilio_async(stock, sid, token, m, in_flight)),
        ),
        (
            f"SMS, bare SDK async, TwilioTransport, {in_flight} in flight",
            lambda m: asyncio.run(bare_twilio_async(ours, sid, token, m, in_flight)),
        ),
        (
            f"SMS, TwilioChannel, {in_flight} in flight",
            lambda m: channel_twilio(base, sid, token, m, in_flight),
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=20_000)
    parser.add_argument("--sms", type=int, default=5_000)
    parser.add_argument("--threads", type=int, default=8, help="the threaded SMS floor's pool")
    parser.add_argument(
        "--in-flight", type=int, default=32, help="concurrent requests of the async SMS variants"
    )
    parser.add_argument("--rounds", type=int, default=1, help="how many times the SMS variants run in turn")
    args = parser.parse_args()
    # The stock async client passes aiohttp `auth=`, deprecated since aiohttp 3.14: one warning per call.
    warnings.filterwarnings(
        "ignore", message="The 'auth' parameter is deprecated", category=DeprecationWarning
    )
    emails = [email(i) for i in range(args.emails)]
    texts = [sms(i) for i in range(args.sms)]
    config = EmulatorConfig(events=False, store_content=False)
    print(f"cores: {os.cpu_count()}, emulator in its own process, events off", flush=True)
    with running_emulator(config, process=True) as emulator:
        if emails:
            rate(
                "e-mail, bare SDK, 1,000 per request",
                len(emails),
                bare_sendgrid(emulator.sendgrid_host, emails),
            )
            emulator.reset()
            rate(
                "e-mail, SendGridChannel (exact bodies)",
                len(emails),
                channel_sendgrid(emulator.sendgrid_host, emails),
            )
            emulator.reset()
        twilio = (emulator.twilio_base, emulator.account_sid, emulator.auth_token)
        variants = sms_variants(*twilio, args.threads, args.in_flight)
        for _ in range(args.rounds):
            for label, timed in variants:
                before = cpu_seconds()
                seconds = timed(texts)
                after = cpu_seconds()
                rate(label, len(texts), seconds, (after[0] - before[0], after[1] - before[1]))
                emulator.reset()


if __name__ == "__main__":
    main()
