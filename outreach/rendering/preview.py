"""`outreach templates preview`: write what a person would receive into a folder, to look before sending.

For each person: `NAME--ID.email.html` (open it in a browser), `NAME--ID.email.txt` (subject,
preheader, then the text part), `NAME--ID.sms.txt` (the body, then its encoding and segment count);
for all of them together: `NAME.letters.pdf`, its manifest `NAME.letters.csv` and `NAME.letters.png`,
the first page as an image. A channel the template does not exist for is skipped; a person a message
cannot be rendered for is reported and the others are still written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pypdfium2

from outreach.rendering.context import person_context
from outreach.rendering.errors import RenderError, TemplateError
from outreach.rendering.letter_pdf import LetterBatch
from outreach.rendering.renderer import Renderer

PNG_SCALE = 1.5
"""108 dpi: readable on screen without a large file."""


@dataclass
class PreviewReport:
    """What a preview wrote, and what it could not render (one line each)."""

    written: list[Path] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _write(report: PreviewReport, path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    report.written.append(path)


def write_preview(
    renderer: Renderer,
    name: str,
    people: Sequence[Mapping[str, Any]],
    out_dir: Path,
    *,
    as_of: date,
    extra: Mapping[str, Any],
) -> PreviewReport:
    """Render `name` on every channel it exists for, for each of `people`, into `out_dir`."""
    channels = [c for c in ("email", "sms", "letter") if renderer.has(c, name)]
    if not channels:
        raise TemplateError(name, None, "no e-mail, SMS or letter template has this name", "see templates/")
    out_dir.mkdir(parents=True, exist_ok=True)
    report = PreviewReport()
    contexts = [person_context(p, as_of=as_of, extra=extra) for p in people]
    for context in contexts:
        stem = out_dir / f"{name}--{context['person']['id']}"
        try:
            if "email" in channels:
                email = renderer.email(name, context)
                _write(report, stem.with_suffix(".email.html"), email.html)
                header = f"Objet : {email.subject}\nPréheader : {email.preheader}\n\n"
                _write(report, stem.with_suffix(".email.txt"), header + email.text)
            if "sms" in channels:
                sms = renderer.sms(name, context)
                summary = (
                    f"\n\n-- expéditeur {sms.sender}, {sms.segments} segment(s), {sms.encoding}, "
                    f"{sms.characters} caractères\n"
                )
                _write(report, stem.with_suffix(".sms.txt"), sms.body + summary)
        except RenderError as exc:
            report.errors.append(str(exc))
    if "letter" in channels:
        _write_letters(renderer, name, contexts, out_dir, report)
    return report


def _write_letters(
    renderer: Renderer, name: str, contexts: list[dict[str, Any]], out_dir: Path, report: PreviewReport
) -> None:
    pdf_path = out_dir / f"{name}.letters.pdf"
    with LetterBatch(pdf_path, renderer) as batch:
        for context in contexts:
            try:
                batch.add(name, context)
            except RenderError as exc:
                report.errors.append(str(exc))
    report.written += [pdf_path, batch.manifest_path]
    if batch.rows:
        png_path = out_dir / f"{name}.letters.png"
        document = pypdfium2.PdfDocument(pdf_path)
        try:
            document[0].render(scale=PNG_SCALE).to_pil().save(png_path)
        finally:
            document.close()
        report.written.append(png_path)
