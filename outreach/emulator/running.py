"""Run an emulator for the length of a `with` block: in a thread (tests) or a process (benchmarks).

    with running_emulator(EmulatorConfig(seed=7)) as emulator:
        channel = SendGridChannel("key", host=emulator.sendgrid_host, ...)
        ...
        emulator.wait_for_events()
        events = emulator.events()["sendgrid"]

A thread is quick to start and shares memory with nothing but the port; a process (`process=True`)
has its own interpreter, so a client benchmark does not share a GIL with the server.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from outreach.asgi import START_TIMEOUT, serving_in_thread
from outreach.emulator.app import create_app
from outreach.emulator.config import EmulatorConfig


@dataclass(frozen=True)
class EmulatorHandle:
    """Where a running emulator listens, the credentials it accepts, and its test controls."""

    base_url: str
    sendgrid_host: str
    """Pass as `SendGridAPIClient(api_key, host=...)`."""
    twilio_base: str
    """Where `https://api.twilio.com` is rewritten to."""
    public_key: str
    """The SendGrid event webhook verification key (base64 DER)."""
    account_sid: str
    auth_token: str
    api_key: str
    """A SendGrid key the emulator accepts."""

    def _get(self, path: str) -> Any:
        response = httpx.get(self.base_url + path, timeout=30)
        response.raise_for_status()
        return response.json()

    def messages(self) -> dict[str, list[dict[str, Any]]]:
        """Everything delivered: {"sendgrid": [one per recipient], "twilio": [resources]}."""
        return self._get("/_emulator/messages")

    def events(self) -> dict[str, Any]:
        """Events kept in memory: {"sendgrid": [...], "twilio": [...], "pending": n}."""
        return self._get("/_emulator/events")

    def stats(self) -> dict[str, int]:
        """Counters: accepted messages, injected faults, webhook posts by status class."""
        return self._get("/_emulator/stats")

    def configure(self, **changes: Any) -> dict[str, Any]:
        """Change the running emulator's behaviour (same names as `EmulatorConfig`)."""
        response = httpx.post(self.base_url + "/_emulator/config", json=_jsonable(changes), timeout=10)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        """Forget messages, events and counters."""
        httpx.post(self.base_url + "/_emulator/reset", timeout=10).raise_for_status()

    def wait_for_events(self, timeout: float = 10.0) -> dict[str, Any]:
        """Wait until every scheduled event has been reported; returns the events."""
        deadline = time.monotonic() + timeout
        while True:
            events = self.events()
            if events["pending"] == 0 or time.monotonic() > deadline:
                return events
            time.sleep(0.05)


def _jsonable(value: Any) -> Any:
    from dataclasses import asdict, is_dataclass

    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    return value


@contextlib.contextmanager
def running_emulator(
    config: EmulatorConfig | None = None, *, process: bool = False
) -> Iterator[EmulatorHandle]:
    """An emulator on a free port of 127.0.0.1 for the block's duration."""
    config = config or EmulatorConfig()
    runner = _in_process if process else _in_thread
    with runner(config) as base_url:
        public_key = httpx.get(base_url + "/_emulator/public_key", timeout=10).json()["public_key"]
        yield EmulatorHandle(
            base_url=base_url,
            sendgrid_host=base_url,
            twilio_base=base_url,
            public_key=public_key,
            account_sid=config.twilio_account_sid,
            auth_token=config.twilio_auth_token,
            api_key=config.sendgrid_api_key or "SG.emulator-key",
        )


@contextlib.contextmanager
def _in_thread(config: EmulatorConfig) -> Iterator[str]:
    with serving_in_thread(create_app(config), "emulator") as base_url:
        yield base_url


@contextlib.contextmanager
def _in_process(config: EmulatorConfig) -> Iterator[str]:
    command = [sys.executable, "-m", "outreach.emulator", json.dumps(config.to_dict())]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        base_url = f"http://127.0.0.1:{port}"
        _wait_until_up(base_url)
        yield base_url
    finally:
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _wait_until_up(base_url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            httpx.get(base_url + "/_emulator/stats", timeout=1).raise_for_status()
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
