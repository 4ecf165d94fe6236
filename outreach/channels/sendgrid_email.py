"""E-mail through the official SendGrid SDK: 1,000 recipients per request, each body exact.

SendGrid shares one `content` across a request's personalizations, but our bodies are rendered per
person, and each personalization's legacy `substitutions` replace unguessable tags in it, once:

- messages filled from the same stencil carry their parts' forms (`Form`: the template's texts around
  the person's values); they share a request whose content is those texts with a tag per value that
  differs between them (a value the same for all is written in), and each person's substitutions are
  only their own values (a name, a few links: hundreds of bytes, not the whole body);
- other messages share a request whose content, per part, is their longest common prefix, a tag and
  their longest common suffix; each person's substitution is their middle.

Either way every recipient receives byte for byte what was rendered for them, with its own headers
(List-Unsubscribe and its signed URL: `personalizations[].headers`). A message whose
substitutions exceed SendGrid's 10,000 bytes per personalization goes in a request of its own, with
its full content.

A 400 on a batch is bisected until the refused messages are isolated, so one bad address does not
fail 999 good ones. Transient faults are retried (`retry.py`); a timeout after sending makes the
whole request's messages ambiguous, to be resolved by `reconcile` (Email Activity lookup).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sendgrid

from outreach.channels.base import (
    PROVIDER_SETTLE_SECONDS,
    HandedOver,
    OutgoingMessage,
    Reconciliation,
    SendResult,
)
from outreach.channels.errors import ProviderFault
from outreach.channels.retry import RetryPolicy, with_retries
from outreach.rendering.form import Form

MAX_PERSONALIZATIONS = 1000
SUBSTITUTIONS_LIMIT = 10_000
"""Bytes of substitution keys and values SendGrid accepts per personalization."""
MAX_CATEGORIES = 10
KEY_ARG = "outreach_message_id"
"""The custom arg that carries our message key to SendGrid and back in every event."""
RECONCILE_CHUNK = 100


@dataclass(frozen=True)
class _Part:
    """One content part of a request: shared value and, when bodies differ, what its tags start with."""

    mime: str
    value: str
    tag: str | None


@dataclass(frozen=True)
class _Request:
    """One mail/send call: its messages, shared parts, and each message's substitutions."""

    messages: tuple[OutgoingMessage, ...]
    parts: tuple[_Part, ...]
    substitutions: tuple[dict[str, str], ...]


class SendGridChannel:
    """The `email` channel over SendGrid v3 mail/send."""

    name = "email"
    max_batch = MAX_PERSONALIZATIONS

    def __init__(
        self,
        api_key: str,
        *,
        host: str = "https://api.sendgrid.com",
        sender: tuple[str, str | None],
        sandbox: bool = False,
        categories: Sequence[str] = (),
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        settle_seconds: float = PROVIDER_SETTLE_SECONDS,
    ) -> None:
        self.settle_seconds = settle_seconds
        self.reconciles_by_content = False  # the activity API finds each message by its custom_args key
        self._client = sendgrid.SendGridAPIClient(api_key, host=host)
        self._sender = {"email": sender[0], **({"name": sender[1]} if sender[1] else {})}
        self._sandbox = sandbox
        self._categories = tuple(categories)
        self._timeout = timeout
        self._retry = retry or RetryPolicy()

    def send(self, batch: Sequence[OutgoingMessage]) -> list[SendResult]:
        """Send up to `max_batch` messages; one result per message."""
        if len(batch) > self.max_batch:
            raise ValueError(f"a SendGrid batch holds at most {self.max_batch} messages, got {len(batch)}")
        results: list[SendResult] = []
        for group in _groups(batch, self._categories).values():
            results += self._send_group(group)
        return results

    def _send_group(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        results: list[SendResult] = []
        for request in plan(messages):
            results += self._send_request(request)
        return results

    def _send_request(self, request: _Request) -> list[SendResult]:
        payload = self._payload(request)
        try:
            response = with_retries(
                lambda: self._client.client.mail.send.post(request_body=payload, timeout=self._timeout),
                self._retry,
            )
        except ProviderFault as error:
            fault = error.fault
            if fault.outcome == "failed" and len(request.messages) > 1:
                middle = len(request.messages) // 2
                return self._send_group(request.messages[:middle]) + self._send_group(
                    request.messages[middle:]
                )
            return [SendResult(m.message_key, fault.outcome, reason=fault.reason) for m in request.messages]
        if response.status_code == 200:  # sandbox mode: validated, not delivered
            reason = "sandbox mode: accepted by SendGrid, not delivered"
            return [SendResult(m.message_key, "sent", reason=reason) for m in request.messages]
        provider_id = response.headers.get("X-Message-Id")
        return [SendResult(m.message_key, "sent", provider_id=provider_id) for m in request.messages]

    def _payload(self, request: _Request) -> dict[str, Any]:
        first = request.messages[0]
        personalizations = []
        for message, substitutions in zip(request.messages, request.substitutions, strict=True):
            personalization: dict[str, Any] = {
                "to": [{"email": message.to}],
                "custom_args": {KEY_ARG: message.message_key},
            }
            if message.subject is not None:
                personalization["subject"] = message.subject
            if message.headers:
                personalization["headers"] = dict(message.headers)
            if substitutions:
                personalization["substitutions"] = substitutions
            personalizations.append(personalization)
        payload: dict[str, Any] = {
            "from": self._sender,
            "personalizations": personalizations,
            "content": [{"type": part.mime, "value": part.value} for part in request.parts],
        }
        categories = _categories(first, self._categories)
        if categories:
            payload["categories"] = list(categories)
        if self._sandbox:
            payload["mail_settings"] = {"sandbox_mode": {"enable": True}}
        return payload

    def reconcile(
        self, message_keys: Sequence[str], handed: Mapping[str, HandedOver] | None = None
    ) -> Reconciliation:
        """Which keys SendGrid received, via the Email Activity API (`unique_args` query)."""
        found: dict[str, str] = {}
        for start in range(0, len(message_keys), RECONCILE_CHUNK):
            chunk = message_keys[start : start + RECONCILE_CHUNK]
            entries = self._activity(chunk)
            if any("unique_args" not in entry for entry in entries):
                # The real API does not echo unique_args: ask key by key to know whose entry it is.
                for key in chunk:
                    alone = self._activity([key])
                    if alone:
                        found[key] = alone[0]["msg_id"]
                continue
            for entry in entries:
                key = entry["unique_args"].get(KEY_ARG)
                if key in chunk:
                    found.setdefault(key, entry["msg_id"])
        return Reconciliation(found=found)

    def _activity(self, keys: Sequence[str]) -> list[dict[str, Any]]:
        quoted = ",".join(json.dumps(key) for key in keys)
        query = f"unique_args['{KEY_ARG}'] IN ({quoted})"
        response = with_retries(
            lambda: self._client.client.messages.get(
                query_params={"query": query, "limit": 1000}, timeout=self._timeout
            ),
            self._retry,
        )
        return json.loads(response.body)["messages"]


def _categories(message: OutgoingMessage, channel_categories: tuple[str, ...]) -> tuple[str, ...]:
    merged = dict.fromkeys((*channel_categories, *message.categories))
    return tuple(merged)[:MAX_CATEGORIES]


def _groups(
    batch: Sequence[OutgoingMessage], channel_categories: tuple[str, ...]
) -> dict[tuple[bool, tuple[str, ...]], list[OutgoingMessage]]:
    """Messages that can share a request: same parts present, same categories (request-wide)."""
    groups: dict[tuple[bool, tuple[str, ...]], list[OutgoingMessage]] = {}
    for message in batch:
        key = (message.html is not None, _categories(message, channel_categories))
        groups.setdefault(key, []).append(message)
    return groups


def plan(messages: Sequence[OutgoingMessage]) -> Iterator[_Request]:
    """The requests that send `messages` exactly (see the module docstring)."""
    if len(messages) == 1:
        yield _solo(messages[0])
        return
    mimes = ("text/plain", "text/html") if messages[0].html is not None else ("text/plain",)
    tag = _fresh_tag(messages)
    by_stencil: dict[tuple[tuple[str, ...], ...], list[OutgoingMessage]] = {}
    others: list[OutgoingMessage] = []
    for message in messages:
        forms = [_form(message, mime) for mime in mimes]
        if all(form is not None for form in forms):
            texts = tuple(form.texts for form in forms if form is not None)
            by_stencil.setdefault(texts, []).append(message)
        else:
            others.append(message)
    for group in by_stencil.values():
        if len(group) == 1:
            others += group
        else:
            yield from _requests(group, *_by_forms(group, mimes, tag))
    if len(others) == 1:
        yield _solo(others[0])
    elif others:
        yield from _requests(others, *_by_affixes(others, mimes, tag))


def _by_forms(
    messages: Sequence[OutgoingMessage], mimes: Sequence[str], tag: str
) -> tuple[list[_Part], list[dict[str, str]]]:
    """Shared parts and substitutions of messages whose parts come from the same stencil."""
    parts: list[_Part] = []
    per_message: list[dict[str, str]] = [{} for _ in messages]
    for mime in mimes:
        forms = [_form(message, mime) for message in messages]
        texts = forms[0].texts  # type: ignore[union-attr]  # the caller grouped messages with forms
        part_tag = f"{tag}{mime[5]}"
        pieces, substituted = [texts[0]], False
        columns = zip(*(form.values for form in forms), strict=True)  # type: ignore[union-attr]
        for index, values in enumerate(columns):
            if values.count(values[0]) == len(values):
                pieces.append(values[0])
            else:
                slot_tag = f"{part_tag}{index:04d}-"  # fixed width: no tag is the start of another
                pieces.append(slot_tag)
                substituted = True
                for substitutions, value in zip(per_message, values, strict=True):
                    substitutions[slot_tag] = value
            pieces.append(texts[index + 1])
        parts.append(_Part(mime, "".join(pieces), part_tag if substituted else None))
    return parts, per_message


def _by_affixes(
    messages: Sequence[OutgoingMessage], mimes: Sequence[str], tag: str
) -> tuple[list[_Part], list[dict[str, str]]]:
    """Shared parts and substitutions of any messages: common prefix and suffix, a middle each."""
    bodies = {mime: [_body(m, mime) for m in messages] for mime in mimes}
    parts: list[_Part] = []
    per_message: list[dict[str, str]] = [{} for _ in messages]
    for mime, values in bodies.items():
        prefix, suffix = _split(values)
        middles = [value[len(prefix) : len(value) - len(suffix)] for value in values]
        if not any(middles):
            parts.append(_Part(mime, prefix + suffix, None))
            continue
        part_tag = f"{tag}{mime[5]}-"
        parts.append(_Part(mime, prefix + part_tag + suffix, part_tag))
        for substitutions, middle in zip(per_message, middles, strict=True):
            substitutions[part_tag] = middle
    return parts, per_message


def _requests(
    messages: Sequence[OutgoingMessage], parts: list[_Part], per_message: list[dict[str, str]]
) -> Iterator[_Request]:
    """One request for the messages whose substitutions fit, one alone for each that does not."""
    shared, solos = [], []
    for message, substitutions in zip(messages, per_message, strict=True):
        size = sum(len(k.encode()) + len(v.encode()) for k, v in substitutions.items())
        (solos if size > SUBSTITUTIONS_LIMIT else shared).append((message, substitutions))
    if len(shared) == 1:
        solos += shared
    elif shared:
        yield _Request(tuple(m for m, _ in shared), tuple(parts), tuple(s for _, s in shared))
    for message, _ in solos:
        yield _solo(message)


def _form(message: OutgoingMessage, mime: str) -> Form | None:
    return message.body_form if mime == "text/plain" else message.html_form


def _solo(message: OutgoingMessage) -> _Request:
    parts = [_Part("text/plain", message.body, None)]
    if message.html is not None:
        parts.append(_Part("text/html", message.html, None))
    return _Request((message,), tuple(parts), ({},))


def _body(message: OutgoingMessage, mime: str) -> str:
    return message.body if mime == "text/plain" else message.html or ""


def _split(values: list[str]) -> tuple[str, str]:
    """The longest common prefix and then the longest common suffix of what remains (no overlap)."""
    prefix = _common_prefix(values)
    rests = [value[len(prefix) :][::-1] for value in values]
    suffix = _common_prefix(rests)[::-1]
    return prefix, suffix


def _common_prefix(values: list[str]) -> str:
    """Character-wise: the prefix shared by the smallest and largest string is shared by all."""
    low, high = min(values), max(values)
    for index, char in enumerate(low):
        if char != high[index]:
            return low[:index]
    return low


def _fresh_tag(messages: Sequence[OutgoingMessage]) -> str:
    """A substitution tag that occurs in no body, subject or header of the batch."""
    while True:
        tag = f"-outreach-{secrets.token_hex(8)}-"
        stem = tag[:-1]
        if not any(
            stem in part
            for m in messages
            for part in (m.body, m.html or "", m.subject or "", *m.headers.values())
        ):
            return tag
