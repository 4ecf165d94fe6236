"""The embedded default channel: messages become files, no provider and no credentials needed.

E-mails are .eml files (multipart/alternative, UTF-8) named after the message key, with the key in
an `X-Outreach-Message-Key` header and the message's own headers (List-Unsubscribe...) as a provider
would send them; SMS are lines of a JSONL log. Writing the same key twice leaves one file or one
line, across threads and processes: a rerun of a campaign into the same folder, or two workers
sharing it, send nothing twice.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import threading
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from email.policy import default as email_policy
from pathlib import Path
from typing import Literal, TextIO

from outreach.channels.base import HandedOver, OutgoingMessage, Reconciliation, SendResult

KEY_HEADER = "X-Outreach-Message-Key"
SMS_LOG = "sms.jsonl"
_SAFE_KEY = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


class OutboxChannel:
    """Writes each message to `folder`; idempotent per message key."""

    max_batch = 1000
    settle_seconds = 0.0  # a file is written or not: a process that is gone writes nothing more
    reconciles_by_content = False  # each message is found by its key

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
        self._sms_keys: set[str] = set()
        self._read_up_to = 0  # how far into the SMS log `_sms_keys` has read

    def send(self, batch: Sequence[OutgoingMessage]) -> list[SendResult]:
        """Write every message of `batch` that is not already in the folder."""
        if self.name == "email":
            return [self._write_email(message) for message in batch]
        return self._append_sms(batch)

    def reconcile(
        self, message_keys: Sequence[str], handed: Mapping[str, HandedOver] | None = None
    ) -> Reconciliation:
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
        """Read-check-append under an exclusive lock on the log: workers in other processes sharing
        the folder write each key once too (the thread lock orders this process's own threads)."""
        with self._lock, (self._folder / SMS_LOG).open("a+", encoding="utf-8") as log:
            fcntl.flock(log, fcntl.LOCK_EX)  # released when the file closes
            known = self._read_new_keys(log)
            lines = []
            for message in batch:
                if message.message_key not in known:
                    known.add(message.message_key)
                    record = {"message_key": message.message_key, "to": message.to, "body": message.body}
                    lines.append(json.dumps(record, ensure_ascii=False) + "\n")
            log.writelines(lines)
            log.flush()
            self._read_up_to = log.tell()
        return [SendResult(m.message_key, "sent", provider_id=f"{SMS_LOG}:{m.message_key}") for m in batch]

    def _known_sms_keys(self) -> set[str]:
        """Every key in the log, including what other processes appended since the last look."""
        with self._lock, (self._folder / SMS_LOG).open("a+", encoding="utf-8") as log:
            fcntl.flock(log, fcntl.LOCK_SH)
            return set(self._read_new_keys(log))

    def _read_new_keys(self, log: TextIO) -> set[str]:
        """The known keys, after reading the lines appended since this channel last read (the log only
        grows, and whole lines are written under the exclusive lock)."""
        log.seek(self._read_up_to)
        for line in log:
            if line.strip():
                self._sms_keys.add(json.loads(line)["message_key"])
        self._read_up_to = log.tell()
        return self._sms_keys


def _file_name(message_key: str) -> str:
    """The key itself when it is a safe file name, else its SHA-256 (keys may hold any character)."""
    stem = message_key if _SAFE_KEY.match(message_key) else hashlib.sha256(message_key.encode()).hexdigest()
    return f"{stem}.eml"
