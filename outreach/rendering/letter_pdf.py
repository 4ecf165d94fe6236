"""Print batches: many letters in one A4 PDF, and the manifest CSV a print provider works from.

The page is fixed by the envelope, not by the template. A French DL window envelope (110 x 220 mm,
window 45 x 100 mm at 20 mm from the right and 15 mm from the bottom) takes an A4 folded in three;
with the play of the sheet in the envelope, the part of the page that always shows through the window
is x 100-190 mm, y 50-84 mm from the top-left corner. The recipient block sits inside it, under a
one-line return address; the fund's letterhead, the date, the reference and the footer take their
places around it. Fold marks are printed at 99 and 198 mm.

Everything that can fail for a letter (template, address) is computed before the first line is drawn,
so a refused letter leaves no page behind; the batch goes on with the next one.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from reportlab.lib.colors import HexColor
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Frame, Paragraph

from outreach.rendering.errors import TemplateError
from outreach.rendering.fund import FUND
from outreach.rendering.letter_markup import LetterBlock
from outreach.rendering.qr import draw_qr
from outreach.rendering.renderer import Renderer

PAGE_WIDTH, PAGE_HEIGHT = A4
LEFT_MARGIN = 20 * mm
RIGHT_MARGIN = 20 * mm
WINDOW_LEFT = 100 * mm
WINDOW_TOP = 50 * mm
WINDOW_BOTTOM = 84 * mm
ADDRESS_FIRST_BASELINE = 58 * mm
ADDRESS_FONT_SIZE = 10
ADDRESS_LEADING = 4.3 * mm
DATE_BASELINE = 93 * mm
SUBJECT_TOP = 100 * mm
FOOTER_TOP = PAGE_HEIGHT - 16 * mm
PRIVACY_FONT_SIZE = 7
PRIVACY_LEADING = 3 * mm
FIRST_PAGE_BODY_TOP = 108 * mm
NEXT_PAGE_BODY_TOP = 22 * mm
BODY_BOTTOM = 32 * mm
"""Above the footer: its contact lines, and over them the data-protection notice (`PRIVACY_NOTICE`)."""
QR_SIZE = 20 * mm
BLUE = HexColor("#0B3D91")
DARK = HexColor("#1A1A1A")
GREY = HexColor("#4A4A4A")

PRIVACY_NOTICE = (
    f"Vos données personnelles sont traitées par la {FUND.name} pour vous informer sur vos droits à "
    "la retraite et suivre vos demandes. Pour ne plus recevoir nos courriers d’information, ou pour "
    f"accéder à vos données et les rectifier\u202f: {FUND.phone}, votre espace personnel sur "
    f"{FUND.national_site_label}, ou par écrit au {FUND.privacy_contact}, {FUND.name}, "
    f"{FUND.address_street}, {FUND.address_city}."
)
"""Printed at the foot of every page: who processes the data and why, and how to say no, since a
letter has no unsubscribe link (the person answers by phone, online or by post)."""

MANIFEST_COLUMNS = ("reference", "template", "person_id", "first_page", "last_page", "pages", "postal_code")

BODY_SIZE = 12
"""Body text of a letter, in points: 12 at least, the usual advice for reading on paper."""
FRAGILE_BODY_SIZE = 14
"""For the `_fragile` variants: people with low vision or little ease with writing (large print)."""


@dataclass(frozen=True, slots=True)
class _LetterStyles:
    """The paragraph styles of a letter set in one body size."""

    body: ParagraphStyle
    bullet: ParagraphStyle
    subject: ParagraphStyle
    signature: ParagraphStyle
    qr_caption: ParagraphStyle


@lru_cache(maxsize=4)
def _styles(size: float) -> _LetterStyles:
    body = ParagraphStyle(
        f"body{size}",
        fontName="Helvetica",
        fontSize=size,
        leading=size * 1.25,
        spaceAfter=size * 0.4,
        textColor=DARK,
    )
    return _LetterStyles(
        body,
        ParagraphStyle(
            f"bullet{size}",
            parent=body,
            leftIndent=size * 1.3,
            bulletIndent=3,
            bulletFontSize=size,
            spaceAfter=size * 0.3,
        ),
        ParagraphStyle(f"subject{size}", parent=body, fontName="Helvetica-Bold", spaceAfter=0),
        ParagraphStyle(f"signature{size}", parent=body, alignment=TA_RIGHT, spaceBefore=size * 0.3),
        ParagraphStyle(f"qr{size}", parent=body),
    )


def body_size(name: str) -> int:
    """The body size of the letter template `name`: large print for the `_fragile` variants."""
    return FRAGILE_BODY_SIZE if name.endswith("_fragile") else BODY_SIZE


def _y(from_top: float) -> float:
    """ReportLab counts from the bottom of the page; the layout is described from the top."""
    return PAGE_HEIGHT - from_top


def _pdf_text(markup: str) -> str:
    """Characters the standard PDF fonts lack, replaced by their nearest equivalent: the narrow
    no-break space before ; : ? ! becomes a no-break space (it still keeps the sign on its line)."""
    return markup.replace("\u202f", "\u00a0")


class _QrBlock(Flowable):
    """The QR code of the response URL with its caption beside it, kept together on one page."""

    def __init__(self, url: str, caption: str, style: ParagraphStyle) -> None:
        super().__init__()
        self.url = url
        self.caption = Paragraph(_pdf_text(caption), style)

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        self.width = available_width
        _, caption_height = self.caption.wrap(available_width - QR_SIZE - 4 * mm, available_height)
        self.height = max(QR_SIZE, caption_height) + 2 * mm
        return self.width, self.height

    def draw(self) -> None:
        draw_qr(self.canv, self.url, 0, self.height - QR_SIZE, QR_SIZE)
        caption_height = self.caption.height
        self.caption.drawOn(self.canv, QR_SIZE + 4 * mm, self.height - (QR_SIZE + caption_height) / 2)


@dataclass(frozen=True, slots=True)
class ManifestRow:
    """One letter of the batch, as the print provider's manifest lists it (pages count from 1)."""

    reference: str
    template: str
    person_id: str
    first_page: int
    last_page: int
    postal_code: str

    @property
    def pages(self) -> int:
        return self.last_page - self.first_page + 1


class _ReusableParagraph(Paragraph):
    """A paragraph that remembers its line breaks for the width it was last wrapped to.

    Most paragraphs of a campaign are the same for every recipient; breaking their lines is the
    costliest step of a letter, so each distinct paragraph is laid out once per batch and reused.
    """

    _wrapped: tuple[float, float, float] | None = None

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        if self._wrapped is not None and self._wrapped[0] == available_width:
            self.width, self.height = self._wrapped[1], self._wrapped[2]
            return self.width, self.height
        width, height = super().wrap(available_width, available_height)
        self._wrapped = (available_width, width, height)
        return width, height


_PARAGRAPH_CACHE_SIZE = 2048


@lru_cache(maxsize=_PARAGRAPH_CACHE_SIZE)
def _paragraph(kind: str, markup: str, size: float) -> Paragraph:
    styles = _styles(size)
    style, bullet = {
        "p": (styles.body, None),
        "li": (styles.bullet, "•"),
        "signature": (styles.signature, None),
    }[kind]
    return _ReusableParagraph(_pdf_text(markup), style, bulletText=bullet)


def _flowables(blocks: tuple[LetterBlock, ...], response_url: str, size: float) -> list[Flowable]:
    return [
        _QrBlock(response_url, block.markup, _styles(size).qr_caption)
        if block.kind == "qr"
        else _paragraph(block.kind, block.markup, size)
        for block in blocks
    ]


class LetterBatch:
    """Writes letters into one print-ready PDF and, on `close()`, the manifest CSV beside it.

    with LetterBatch(Path("batch.pdf"), renderer) as batch:
        batch.add("career_statement_35", context)
    # batch.pdf, batch.csv
    """

    def __init__(self, path: Path | str, renderer: Renderer, manifest_path: Path | str | None = None) -> None:
        self.path = Path(path)
        self.manifest_path = Path(manifest_path) if manifest_path else self.path.with_suffix(".csv")
        self.renderer = renderer
        self.rows: list[ManifestRow] = []
        self._pages = 0
        self._canvas: Canvas | None = Canvas(str(self.path), pagesize=A4, pageCompression=1)
        self._canvas.setTitle("Courriers CARSAT Centre-Ouest")
        self._canvas.setAuthor(FUND.name)
        self._canvas.setCreator("outreach")
        self._define_forms()

    def __enter__(self) -> LetterBatch:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- static parts, drawn once and reused on every page ---------------------------------------------

    @property
    def _open_canvas(self) -> Canvas:
        if self._canvas is None:
            raise RuntimeError(f"the letter batch {self.path} is already closed")
        return self._canvas

    def _define_forms(self) -> None:
        canvas = self._open_canvas
        canvas.beginForm("letterhead")
        canvas.setFillColor(BLUE)
        canvas.setFont("Helvetica", 9)
        canvas.drawString(LEFT_MARGIN, _y(16 * mm), FUND.brand)
        canvas.setFont("Helvetica-Bold", 15)
        canvas.drawString(LEFT_MARGIN, _y(22 * mm), FUND.name)
        canvas.setFillColor(DARK)
        canvas.setFont("Helvetica", 8.5)
        canvas.drawString(LEFT_MARGIN, _y(27 * mm), FUND.address_street)
        canvas.drawString(LEFT_MARGIN, _y(31 * mm), FUND.address_city)
        canvas.drawString(
            LEFT_MARGIN, _y(38 * mm), _pdf_text(f"Téléphone\u202f: {FUND.phone} ({FUND.phone_note})")
        )
        canvas.drawString(LEFT_MARGIN, _y(42 * mm), f"{FUND.phone_hours[0].upper()}{FUND.phone_hours[1:]}")
        canvas.setFont("Helvetica", 6.5)
        canvas.setFillColor(GREY)
        canvas.drawString(
            WINDOW_LEFT, _y(WINDOW_TOP + 2.5 * mm), f"{FUND.name} - {FUND.address_city.upper()}"
        )
        canvas.endForm()

        canvas.beginForm("footer")
        canvas.setStrokeColor(GREY)
        canvas.setLineWidth(0.3)
        canvas.line(0, _y(99 * mm), 5 * mm, _y(99 * mm))  # fold marks for a DL envelope
        canvas.line(0, _y(198 * mm), 5 * mm, _y(198 * mm))
        width = PAGE_WIDTH - LEFT_MARGIN - RIGHT_MARGIN
        privacy = simpleSplit(_pdf_text(PRIVACY_NOTICE), "Helvetica", PRIVACY_FONT_SIZE, width)
        rule = FOOTER_TOP - 4 * mm - len(privacy) * PRIVACY_LEADING
        canvas.line(LEFT_MARGIN, _y(rule), PAGE_WIDTH - RIGHT_MARGIN, _y(rule))
        canvas.setFillColor(GREY)
        middle = PAGE_WIDTH / 2
        canvas.setFont("Helvetica", PRIVACY_FONT_SIZE)
        for index, line in enumerate(privacy):
            canvas.drawCentredString(middle, _y(rule + 3.5 * mm + index * PRIVACY_LEADING), line)
        canvas.setFont("Helvetica", 7.5)
        canvas.drawCentredString(
            middle,
            _y(FOOTER_TOP),
            f"{FUND.name} - {FUND.brand} - {FUND.phone} ({FUND.phone_note}), {FUND.phone_hours}",
        )
        canvas.drawCentredString(
            middle,
            _y(FOOTER_TOP + 3.5 * mm),
            f"{FUND.national_site_label} - {FUND.regional_site_label} - "
            "agences retraite et espaces France Services près de chez vous",
        )
        canvas.endForm()

    # -- one letter ------------------------------------------------------------------------------------

    def add(self, name: str, context: Mapping[str, Any]) -> ManifestRow:
        """Render the letter `name` for `context` at the end of the batch; returns its manifest row.

        Raises a `RenderError` (template or address) before anything is drawn.
        """
        content = self.renderer.letter(name, context)
        address = tuple(context["address_lines"])
        reference = str(context["reference"])
        person = context["person"]
        try:
            size = body_size(name)
            flowables = _flowables(content.blocks, context["links"]["response"], size)
            subject = Paragraph(_pdf_text(f"<b>Objet\u202f:</b> {content.subject}"), _styles(size).subject)
        except ValueError as exc:  # ReportLab's verdict on malformed inline markup
            raise TemplateError(
                f"letter/{name}.html", None, f"bad inline markup: {exc}", "close every <b>/<i>"
            ) from exc

        first_page = self._pages + 1
        canvas = self._open_canvas
        self._first_page(address, reference, context["today_fr"], subject)
        frame_top = FIRST_PAGE_BODY_TOP
        page_in_letter = 1
        while True:
            frame = Frame(
                LEFT_MARGIN,
                BODY_BOTTOM,
                PAGE_WIDTH - LEFT_MARGIN - RIGHT_MARGIN,
                PAGE_HEIGHT - frame_top - BODY_BOTTOM,
                leftPadding=0,
                rightPadding=0,
                topPadding=0,
                bottomPadding=0,
                showBoundary=0,
            )
            before = (len(flowables), flowables[0] if flowables else None)
            frame.addFromList(flowables, canvas)
            if flowables and (len(flowables), flowables[0]) == before and frame_top == NEXT_PAGE_BODY_TOP:
                # Only a block that cannot be split and is taller than a page gets here (paragraphs
                # always split): a template defect that a preview shows at once; the batch is unusable.
                raise TemplateError(f"letter/{name}.html", None, "a block is taller than a page", "split it")
            canvas.showPage()
            self._pages += 1
            if not flowables:
                break
            page_in_letter += 1
            self._next_page(reference, page_in_letter)
            frame_top = NEXT_PAGE_BODY_TOP
        row = ManifestRow(
            reference, name, str(person["id"]), first_page, self._pages, person["postal_code"] or ""
        )
        self.rows.append(row)
        return row

    def _first_page(self, address: tuple[str, ...], reference: str, date_fr: str, subject: Paragraph) -> None:
        canvas = self._open_canvas
        canvas.doForm("letterhead")
        canvas.doForm("footer")
        canvas.setFillColor(DARK)
        canvas.setFont("Helvetica", 8.5)
        canvas.drawString(LEFT_MARGIN, _y(49 * mm), _pdf_text(f"Référence\u202f: {reference}"))
        canvas.setFont("Helvetica", ADDRESS_FONT_SIZE)
        text = canvas.beginText(WINDOW_LEFT, _y(ADDRESS_FIRST_BASELINE))
        text.setLeading(ADDRESS_LEADING)
        for line in address:
            text.textLine(line)
        canvas.drawText(text)
        canvas.setFont("Helvetica", 10.5)
        canvas.drawRightString(
            PAGE_WIDTH - RIGHT_MARGIN, _y(DATE_BASELINE), f"{FUND.letter_city}, le {date_fr}"
        )
        width = PAGE_WIDTH - LEFT_MARGIN - RIGHT_MARGIN
        _, height = subject.wrap(width, 20 * mm)
        subject.drawOn(canvas, LEFT_MARGIN, _y(SUBJECT_TOP) - height)

    def _next_page(self, reference: str, page: int) -> None:
        canvas = self._open_canvas
        canvas.doForm("footer")
        canvas.setFillColor(GREY)
        canvas.setFont("Helvetica", 8)
        canvas.drawString(LEFT_MARGIN, _y(14 * mm), f"{FUND.name} - référence {reference} - page {page}")

    # -- end of the batch ------------------------------------------------------------------------------

    def close(self) -> tuple[ManifestRow, ...]:
        """Write the PDF and the manifest CSV; returns the manifest rows. Closing twice is harmless."""
        if self._canvas is not None:
            if not self.rows:
                self._canvas.showPage()  # a PDF needs a page; an empty batch gets a blank one
            self._canvas.save()
            self._canvas = None
            with self.manifest_path.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(MANIFEST_COLUMNS)
                for row in self.rows:
                    writer.writerow(
                        (
                            row.reference,
                            row.template,
                            row.person_id,
                            row.first_page,
                            row.last_page,
                            row.pages,
                            row.postal_code,
                        )
                    )
        return tuple(self.rows)
