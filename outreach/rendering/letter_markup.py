"""The letter markup: what a letter template produces, and its parsing into blocks for page layout.

A letter template renders a short sequence of tagged blocks (HTML-escaped, since letter templates are
`.html` files); the PDF writer owns the page (letterhead, window address, date, reference, footer)
and flows these blocks into it:

    <subject>Votre relevé de carrière</subject>     the "Objet :" line (exactly one)
    <p>Madame,</p>                                  a paragraph
    <li>Consultez votre relevé en ligne.</li>       a bullet point
    <qr>Scannez ce code pour prendre rendez-vous</qr>  the QR code of `links.response`, with this caption
    <signature>Le service retraite</signature>       the signature, aligned right

Inside a block: <b>bold</b>, <i>italic</i> and <br> only. Text outside a block is an error: it would
be silently lost otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from outreach.rendering.errors import TemplateError
from outreach.rendering.french import one_line

BLOCK_KINDS = ("subject", "p", "li", "qr", "signature")
_BLOCK = re.compile(r"<(subject|p|li|qr|signature)>(.*?)</\1>", re.DOTALL)
_INLINE_TAG = re.compile(r"</?([a-zA-Z]+)\s*/?>")
_ALLOWED_INLINE = {"b", "i", "br"}
_BR = re.compile(r"<br\s*/?>")


@dataclass(frozen=True, slots=True)
class LetterBlock:
    """One block of a letter: its kind (see `BLOCK_KINDS`) and its ReportLab paragraph markup."""

    kind: str
    markup: str


@dataclass(frozen=True, slots=True)
class LetterContent:
    """A rendered letter: its subject line and its blocks in reading order."""

    subject: str
    blocks: tuple[LetterBlock, ...]


def parse_letter(template: str, markup: str) -> LetterContent:
    """Split rendered letter markup into blocks, refusing stray text and unknown tags."""
    blocks: list[LetterBlock] = []
    subject: str | None = None
    position = 0
    for match in _BLOCK.finditer(markup):
        stray = markup[position : match.start()].strip()
        if stray:
            raise TemplateError(
                template, None, f"text outside a block: {stray[:40]!r}", "wrap it in <p>...</p>"
            )
        position = match.end()
        kind, body = match.group(1), one_line(match.group(2))
        for tag in _INLINE_TAG.findall(body):
            if tag.lower() not in _ALLOWED_INLINE:
                raise TemplateError(template, None, f"<{tag}> inside <{kind}>", "use only <b>, <i> and <br>")
        body = _BR.sub("<br/>", body)
        if kind == "subject":
            if subject is not None:
                raise TemplateError(template, None, "two <subject> blocks", "keep one subject")
            subject = body
        else:
            blocks.append(LetterBlock(kind, body))
    stray = markup[position:].strip()
    if stray:
        raise TemplateError(template, None, f"text outside a block: {stray[:40]!r}", "wrap it in <p>...</p>")
    if subject is None:
        raise TemplateError(template, None, "no <subject> block", "add {% block subject %} to the letter")
    return LetterContent(subject, tuple(blocks))
