"""OutboxChannel: .eml files and an SMS log, idempotent per message key."""

from __future__ import annotations

import json
import multiprocessing
from collections import Counter
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

from outreach.channels.base import OutgoingMessage
from outreach.channels.outbox import KEY_HEADER, OutboxChannel


def email(key: str) -> OutgoingMessage:
    return OutgoingMessage(
        message_key=key,
        person_id="P1",
        channel="email",
        to="helene.berge@exemple.fr",
        subject="Votre pension de réversion : l’essentiel",
        body="Bonjour Hélène,\nVotre dossier est en cours d’examen. Montant : 1 234,56 €.",
        html="<p>Bonjour Hélène,</p><p>Votre dossier est en cours d’examen. Montant : 1 234,56 €.</p>",
    )


def test_an_email_is_a_utf8_multipart_eml_with_its_key(tmp_path: Path) -> None:
    channel = OutboxChannel(tmp_path, "email")
    (result,) = channel.send([email("run1-step1-P1")])
    assert result.outcome == "sent"
    parsed = message_from_bytes((tmp_path / "run1-step1-P1.eml").read_bytes(), policy=policy.default)
    assert parsed[KEY_HEADER] == "run1-step1-P1"
    assert parsed["Subject"] == "Votre pension de réversion : l’essentiel"
    assert parsed.get_content_type() == "multipart/alternative"
    assert parsed.get_body(("plain",)).get_content().rstrip("\n") == email("x").body
    assert parsed.get_body(("html",)).get_content().rstrip("\n") == email("x").html


def test_an_email_carries_its_own_headers(tmp_path: Path) -> None:
    headers = {
        "List-Unsubscribe": "<https://suivi.carsat-centreouest.fr/u/jeton-P1>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "X-Outreach-Message-Class": "information",
    }
    OutboxChannel(tmp_path, "email").send([OutgoingMessage(**{**email("k1").__dict__, "headers": headers})])
    parsed = message_from_bytes((tmp_path / "k1.eml").read_bytes(), policy=policy.default)
    assert {name: parsed[name].strip() for name in headers} == headers
    assert parsed[KEY_HEADER] == "k1"


def test_writing_a_key_twice_keeps_one_file_and_the_first_content(tmp_path: Path) -> None:
    channel = OutboxChannel(tmp_path, "email")
    channel.send([email("k/1")])
    first = list(tmp_path.iterdir())
    changed = OutgoingMessage(**{**email("k/1").__dict__, "body": "autre"})
    assert OutboxChannel(tmp_path, "email").send([changed])[0].outcome == "sent"
    assert list(tmp_path.iterdir()) == first
    assert b"autre" not in first[0].read_bytes()
    assert channel.reconcile(["k/1", "k/2"]).found == {"k/1": first[0].name}


def test_sms_are_logged_once_per_key(tmp_path: Path) -> None:
    sms = OutgoingMessage(
        "s1", "P1", "sms", "+33612345678", "CARSAT : RDV confirmé le 12/03 à 10h. STOP 36180"
    )
    OutboxChannel(tmp_path, "sms").send([sms, sms])
    again = OutboxChannel(tmp_path, "sms")  # a rerun in a new process reads the log back
    again.send([sms])
    lines = (tmp_path / "sms.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [{"message_key": "s1", "to": sms.to, "body": sms.body}]
    assert set(again.reconcile(["s1", "s2"]).found) == {"s1"}


def _send_all_sms(folder: str, start: Any, count: int) -> None:
    """One worker process: wait for the other, then send the same SMS keys in small batches."""
    channel = OutboxChannel(folder, "sms")
    start.wait()
    batch = [
        OutgoingMessage(f"run7/step1/p{i:04d}", f"P{i:04d}", "sms", f"+3361200{i:04d}", "CARSAT : à bientôt.")
        for i in range(count)
    ]
    for offset in range(0, count, 5):
        channel.send(batch[offset : offset + 5])


def test_two_processes_sending_the_same_sms_log_each_key_once(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(2)
    count = 400
    workers = [context.Process(target=_send_all_sms, args=(str(tmp_path), start, count)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    lines = (tmp_path / "sms.jsonl").read_text(encoding="utf-8").splitlines()
    keys = Counter(json.loads(line)["message_key"] for line in lines)
    assert len(keys) == count
    assert max(keys.values()) == 1
    # and a channel of a third process sees every key the others wrote
    assert len(OutboxChannel(tmp_path, "sms").reconcile(list(keys)).found) == count


def test_reconcile_sees_sms_another_process_wrote_after_it_first_looked(tmp_path: Path) -> None:
    sms = OutgoingMessage("s9", "P9", "sms", "+33612345679", "CARSAT : votre dossier est complet.")
    reader = OutboxChannel(tmp_path, "sms")
    assert reader.reconcile(["s9"]).found == {}
    OutboxChannel(tmp_path, "sms").send([sms])  # another worker, same folder
    assert reader.reconcile(["s9"]).found == {"s9": "sms.jsonl:s9"}
