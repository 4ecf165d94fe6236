"""The embedded default channel: messages become files, no provider and no credentials needed.

E-mails are .eml files (multipart/alternative, UTF-8) named after the message key, with the key in
an `X-Outreach-Message-Key` header and the message's own headers (List-Unsubscribe...) as a provider
would send them; SMS are lines of a JSONL log. Writing the same key twice leaves
one file or one line: a rerun of a campaign into the same folder sends nothing twice.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections.abc import Sequence
from email.message import EmailMessage
from email.policy import default as email_policy
from pathlib import Path
from typing import Literal

from outreach.channels.base import OutgoingMessage, Reconciliation, SendResult

KEY_HEADER = "X-Outreach-Message-Key"
SMS_LOG = "sms.jsonl"
_SAFE_KEY = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


class OutboxChannel:
    """Writes each message to `folder`; idempotent per message key."""

    max_batch = 1000

    def __init__(
        self,
        folder: str | os.PathLike[str],
        channel: Literal["email", "sms"] = "email",
        sender: str = "CARSAT Centre-Ouest <ne-pas-repondre@carsat-centreouest.fr>",
    ) -> None:
        self.name = channel
        self._folder = Path(folder)
        self._folder.mkdir(parents=True, exist_ok=True)
        self._sender = sender
        self._lock = threading.Lock()
        self._sms_keys: set[str] | None = None

    def send(self, batch: Sequence[OutgoingMessage]) -> list[SendResult]:
        """Write every message of `batch` that is not already in the folder."""
        if self.name == "email":
            return [self._write_email(message) for message in batch]
        return self._append_sms(batch)

    def reconcile(self, message_keys: Sequence[str]) -> Reconciliation:
        """The keys already written to the folder (their file name or log line)."""
        if self.name == "email":
            found = {
                key: _file_name(key) for key in message_keys if (self._folder / _file_name(key)).exists()
            }
        else:
            known = self._known_sms_keys()
            found = {key: f"{SMS_LOG}:{key}" for key in message_keys if key in known}
        return Reconciliation(found=found)

    def _write_email(self, message: OutgoingMessage) -> SendResult:
        name = _file_name(message.message_key)
        target = self._folder / name
        email = EmailMessage(policy=email_policy)
        email["From"] = self._sender
        email["To"] = message.to
        email["Subject"] = message.subject or ""
        email[KEY_HEADER] = message.message_key
        for header, value in message.headers.items():
            email[header] = value
        email.set_content(message.body, charset="utf-8")
        if message.html is not None:
            email.add_alternative(message.html, subtype="html", charset="utf-8")
        temporary = self._folder / f".{name}.{os.getpid()}.{threading.get_ident()}.tmp"
        temporary.write_bytes(email.as_bytes())
        try:
            os.link(temporary, target)  # fails if the key was written already: never overwrite
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
        return SendResult(message.message_key, "sent", provider_id=name)

    def _append_sms(self, batch: Sequence[OutgoingMessage]) -> list[SendResult]:
        with self._lock:
            known = self._known_sms_keys()
            lines = []
            for message in batch:
                if message.message_key not in known:
                    known.add(message.message_key)
                    record = {"message_key": message.message_key, "to": message.to, "body": message.body}
                    lines.append(json.dumps(record, ensure_ascii=False) + "\n")
            with (self._folder / SMS_LOG).open("a", encoding="utf-8") as log:
                log.writelines(lines)
        return [SendResult(m.message_key, "sent", provider_id=f"{SMS_LOG}:{m.message_key}") for m in batch]

    def _known_sms_keys(self) -> set[str]:
        if self._sms_keys is None:
            path = self._folder / SMS_LOG
            lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
            self._sms_keys = {json.loads(line)["message_key"] for line in lines if line.strip()}
        return self._sms_keys


def _file_name(message_key: str) -> str:
    """The key itself when it is a safe file name, else its SHA-256 (keys may hold any character)."""
    stem = message_key if _SAFE_KEY.match(message_key) else hashlib.sha256(message_key.encode()).hexdigest()
    return f"{stem}.eml"
