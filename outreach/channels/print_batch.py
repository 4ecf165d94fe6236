"""Postal letters: one print-ready batch (PDF + manifest CSV) per send, handed to a destination.

A letter is "sent" when its batch has been handed over to the print provider's drop folder (or any
`Destination`): that is the last moment the fund controls. The handover is atomic — files are written
under a temporary name and renamed — so a provider never picks up half a batch, and a crash before the
rename leaves nothing behind for reconciliation to find: those letters are simply queued again.
Files are created readable by their owner only: they hold names and addresses.
"""

from __future__ import annotations

import csv
import os
import shutil
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from outreach.channels.base import HandedOver, OutgoingMessage, Reconciliation, SendResult
from outreach.rendering.errors import RenderError, TemplateError
from outreach.rendering.letter_pdf import LetterBatch
from outreach.rendering.renderer import Renderer


class Destination(Protocol):
    """Where print batches go: a drop folder here, an SFTP server in production."""

    def deliver(self, batch_id: str, pdf: Path, manifest: Path) -> None:
        """Hand the batch over; after this returns, the provider owns it."""
        ...

    def delivered_manifests(self) -> list[Path]:
        """The manifests of every batch handed over (for reconciliation)."""
        ...


@dataclass(frozen=True)
class DropFolder:
    """A local folder the print provider collects from (or a mounted share)."""

    folder: Path

    def deliver(self, batch_id: str, pdf: Path, manifest: Path) -> None:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        for source, suffix in ((pdf, ".pdf"), (manifest, ".csv")):
            partial = self.folder / f".{batch_id}{suffix}.part"
            shutil.copyfile(source, partial)
            os.chmod(partial, 0o600)
            os.replace(partial, self.folder / f"{batch_id}{suffix}")  # the manifest last: it marks completion

    def delivered_manifests(self) -> list[Path]:
        return sorted(self.folder.glob("*.csv")) if self.folder.is_dir() else []


class PrintChannel:
    """Lays letters out into a batch PDF with its manifest, and hands the batch to a `Destination`."""

    name = "letter"
    max_batch = 500
    settle_seconds = 0.0  # a manifest is delivered or not: a process that is gone delivers nothing more
    reconciles_by_content = False  # each message is found by its key

    def __init__(self, renderer: Renderer, destination: Destination, work_dir: Path) -> None:
        self.renderer = renderer
        self.destination = destination
        self.work_dir = work_dir

    def send(self, batch: Sequence[OutgoingMessage]) -> list[SendResult]:
        batch_id = f"courriers-{uuid.uuid4().hex[:12]}"
        self.work_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        pdf = self.work_dir / f"{batch_id}.pdf"
        results: list[SendResult] = []
        laid_out: list[OutgoingMessage] = []
        old_umask = os.umask(0o077)
        try:
            with LetterBatch(pdf, self.renderer) as letters:
                for message in batch:
                    if message.template is None or message.context is None:
                        raise ValueError(f"letter {message.message_key} has no template or context")
                    try:
                        letters.add(message.template, message.context)
                    except TemplateError:
                        raise  # systemic: the pipeline halts the step and keeps the letters queued
                    except RenderError as exc:
                        results.append(SendResult(message.message_key, "failed", reason=f"render: {exc}"))
                        continue
                    laid_out.append(message)
            if laid_out:
                self.destination.deliver(batch_id, pdf, letters.manifest_path)
        finally:
            os.umask(old_umask)
            pdf.unlink(missing_ok=True)
            pdf.with_suffix(".csv").unlink(missing_ok=True)
        return results + [SendResult(m.message_key, "sent", provider_id=batch_id) for m in laid_out]

    def reconcile(
        self, message_keys: Sequence[str], handed: Mapping[str, HandedOver] | None = None
    ) -> Reconciliation:
        """Letters whose reference appears in a delivered manifest were handed over."""
        wanted = {f"CO-{key}": key for key in message_keys}
        found: dict[str, str] = {}
        for manifest in self.destination.delivered_manifests():
            with manifest.open(encoding="utf-8") as handle:
                for row in csv.DictReader(handle):
                    key = wanted.get(row.get("reference", ""))
                    if key:
                        found[key] = manifest.stem
        return Reconciliation(found)
