"""Letters: the AFNOR recipient block, the print batch PDF (read back with pypdf) and its manifest."""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import pypdfium2
import pytest
from pypdf import PdfReader
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from outreach.rendering import AddressError, LetterBatch, Renderer, TemplateError, person_context
from outreach.rendering.address import MAX_CHARS, MAX_LINES, address_lines, recipient_line
from outreach.rendering.qr import QUIET_ZONE, draw_qr, qr_matrix
from outreach.rendering.samples import LONGEST_PERSON, SAMPLE_AS_OF, SAMPLE_EXTRA, SAMPLE_PEOPLE

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
PAGE_HEIGHT = 297 * mm
MARIE_THERESE, JEAN_BAPTISTE, LEFEVRE, FRANCOISE = SAMPLE_PEOPLE


def _check_standard(lines: tuple[str, ...]) -> None:
    assert 2 <= len(lines) <= MAX_LINES
    assert all(0 < len(line) <= MAX_CHARS for line in lines)
    for line in lines[3:] if len(lines) > 3 else lines[-1:]:
        assert re.fullmatch(r"[0-9A-Z ]+", line), f"punctuation or lower case in {line!r}"
    assert re.fullmatch(r"\d{5} [A-Z][A-Z ]+", lines[-1])


@pytest.mark.parametrize("person", [*SAMPLE_PEOPLE, LONGEST_PERSON], ids=lambda p: p["person_id"])
def test_address_blocks_follow_the_postal_standard(person: dict) -> None:
    _check_standard(address_lines(person))


def test_full_address_is_shortened_in_the_standard_order() -> None:
    assert address_lines(MARIE_THERESE) == (
        "Mme M.-T. de La Rochefoucauld-Lévis",  # "Madame Marie-Thérèse ..." is 47 characters
        "CHEZ M. ET MME LEFEVRE-DUPLESSIS",
        "RES LES JARDINS DE L'ABBAYE, BAT. C",  # "RESIDENCE" abbreviated to fit 38
        "3 RUE DE L EGLISE",  # no apostrophe from line 4 on
        "LIEU DIT LA CROIX BLANCHE",
        "86000 POITIERS",
    )


def test_short_address_keeps_full_words() -> None:
    assert address_lines(JEAN_BAPTISTE) == (
        "Monsieur Jean-Baptiste N'Diaye",
        "12 AVENUE DU PRESIDENT WILSON",
        "16000 ANGOULEME",
    )
    assert address_lines(LEFEVRE) == ("Lefèvre", "LE BOURG", "23200 AUBUSSON")


def test_street_and_town_are_abbreviated_only_when_needed() -> None:
    lines = address_lines(FRANCOISE)
    assert lines[1] == "APPARTEMENT 12, 3E ETAGE"
    assert lines[2] == "27 BD DU MAL DE LATTRE DE TASSIGNY"  # 46, then 39 with BD: titles too
    assert lines[3] == "79400 SAINT MAIXENT L ECOLE"


def test_recipient_line_shortening_steps() -> None:
    assert recipient_line("M", "Jean", "Roy") == "Monsieur Jean Roy"
    assert (
        recipient_line("Mme", "Marie-Thérèse", "de La Rochefoucauld-Lévis")
        == "Mme M.-T. de La Rochefoucauld-Lévis"
    )
    # with the initial it would be 39 characters: the first name goes
    assert (
        recipient_line("Mme", "Anne", "de La Rochefoucauld-Doudeauville")
        == "Mme de La Rochefoucauld-Doudeauville"
    )
    assert recipient_line(None, None, "X" * 39) is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"address_street": "127 boulevard du Général Maréchal de Lattre de Tassigny"}, "does not fit in 38"),
        ({"last_name": "de La Rochefoucauld-Doudeauville-Montmorency"}, "longer than 38"),
        ({"address_street": None, "address_locality": None}, "no street and no lieu-dit"),
        ({"postal_code": None}, "postcode or the town is missing"),
        ({"postal_code": "8600"}, "not 5 digits"),
        ({"country": "Belgique"}, "needs 7 lines"),
    ],
)
def test_addresses_that_cannot_fit_are_refused(change: dict, message: str) -> None:
    with pytest.raises(AddressError, match=message) as caught:
        address_lines({**MARIE_THERESE, **change})
    assert str(caught.value).startswith("person SAMPLE-0001: ")


def test_foreign_country_takes_the_last_line() -> None:
    person = {**JEAN_BAPTISTE, "postal_code": "1000", "city": "Bruxelles", "country": "Belgique"}
    assert address_lines(person)[-2:] == ("1000 BRUXELLES", "BELGIQUE")


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(TEMPLATES)


def _context(person: dict, reference: str | None = None) -> dict:
    return person_context(person, as_of=SAMPLE_AS_OF, extra=SAMPLE_EXTRA, reference=reference)


def _text_at(page) -> list[tuple[float, float, str]]:  # type: ignore[no-untyped-def]
    """(x, y from the top, text) of every text run of a PDF page."""
    runs: list[tuple[float, float, str]] = []

    def visit(text, cm, tm, font, size) -> None:  # type: ignore[no-untyped-def]
        if text.strip():
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            runs.append((x, PAGE_HEIGHT - y, text.strip()))

    page.extract_text(visitor_text=visit)
    return runs


def test_letter_pdf_has_the_address_in_the_window_and_the_content(renderer: Renderer, tmp_path: Path) -> None:
    path = tmp_path / "lettre.pdf"
    with LetterBatch(path, renderer) as batch:
        batch.add("career_statement_35", _context(MARIE_THERESE, reference="CO-2026-000123"))
    page = PdfReader(path).pages[0]
    assert [round(v) for v in page.mediabox[2:]] == [595, 842]  # A4
    runs = _text_at(page)
    window = [text for x, y, text in runs if abs(x - 100 * mm) < 1 and 50 * mm < y < 84 * mm]
    assert window[0] == "CARSAT Centre-Ouest - 87048 LIMOGES CEDEX"  # return address
    assert tuple(window[1:]) == address_lines(MARIE_THERESE)
    _check_standard(tuple(window[1:]))
    text = page.extract_text()
    assert "Limoges, le 26 novembre 2026" in text
    assert "Référence : CO-2026-000123" in text
    assert "Objet : Votre relevé de carrière" in text
    assert "Madame," in text and "Veuillez recevoir, Madame, nos salutations distinguées." in text
    assert "suivi.carsat-centreouest.invalid/r/CO-2026-000123" in text  # short URL under the QR code
    assert "3960" in text and "France Services" in text and "lassuranceretraite.fr" in text


def test_every_letter_renders_for_every_sample(renderer: Renderer, tmp_path: Path) -> None:
    path = tmp_path / "tout.pdf"
    names = renderer.names("letter")
    with LetterBatch(path, renderer) as batch:
        for person in [*SAMPLE_PEOPLE, LONGEST_PERSON]:
            for name in names:
                batch.add(name, _context(person))
    reader = PdfReader(path)
    assert len(batch.rows) == len(names) * 5
    assert len(reader.pages) == batch.rows[-1].last_page
    for row in batch.rows:
        first = reader.pages[row.first_page - 1].extract_text()
        assert f"Référence : {row.reference}" in first
        letter = " ".join(reader.pages[i].extract_text() for i in range(row.first_page - 1, row.last_page))
        letter = " ".join(letter.split())
        assert "salutations distinguées" in letter
        if row.template.endswith("_fragile"):
            assert "Un conseiller vous répond et peut vous donner rendez-vous" in letter
        if row.template.startswith("complaint"):
            assert "REC-2026-0004817" in letter


def test_batch_manifest_lists_page_ranges(renderer: Renderer, tmp_path: Path) -> None:
    long_letter = tmp_path / "templates"
    shutil.copytree(TEMPLATES, long_letter)
    paragraph = (
        "<p>" + "Nous vous expliquons ici chaque étape de votre démarche, sans jargon. " * 12 + "</p>\n"
    )
    (long_letter / "letter" / "long.html").write_text(
        '{% extends "letter/_layout.html" %}{% block subject %}Un long courrier{% endblock %}'
        "{% block body %}" + paragraph * 4 + "{% endblock %}",
        encoding="utf-8",
    )
    batch_renderer = Renderer(long_letter)
    path = tmp_path / "lot.pdf"
    with LetterBatch(path, batch_renderer) as batch:
        batch.add("retirement_claim", _context(JEAN_BAPTISTE, "REF-A"))
        batch.add("long", _context(FRANCOISE, "REF-B"))
        batch.add("welcome_retirement", _context(LEFEVRE, "REF-C"))
    with (tmp_path / "lot.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [
        (r["reference"], r["first_page"], r["last_page"], r["pages"], r["postal_code"]) for r in rows
    ] == [
        ("REF-A", "1", "1", "1", "16000"),
        ("REF-B", "2", "3", "2", "79400"),
        ("REF-C", "4", "4", "1", "23200"),
    ]
    reader = PdfReader(path)
    assert len(reader.pages) == 4
    assert "CARSAT Centre-Ouest - référence REF-B - page 2" in reader.pages[2].extract_text()
    assert "Référence : REF-C" in reader.pages[3].extract_text()


def test_refused_letter_leaves_no_page_behind(renderer: Renderer, tmp_path: Path) -> None:
    path = tmp_path / "refus.pdf"
    broken = {**JEAN_BAPTISTE, "person_id": "P-SANS-ADRESSE", "address_street": None}
    with LetterBatch(path, renderer) as batch:
        batch.add("retirement_claim", _context(JEAN_BAPTISTE, "REF-1"))
        with pytest.raises(AddressError, match="P-SANS-ADRESSE"):
            batch.add("retirement_claim", _context(broken, "REF-2"))
        with pytest.raises(TemplateError, match="'complaint_reference' is not defined"):
            batch.add("complaint_acknowledgement", person_context(JEAN_BAPTISTE, as_of=SAMPLE_AS_OF))
        batch.add("welcome_retirement", _context(LEFEVRE, "REF-3"))
    assert [(r.reference, r.first_page) for r in batch.rows] == [("REF-1", 1), ("REF-3", 2)]
    assert len(PdfReader(path).pages) == 2


def test_bad_letter_markup_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "templates"
    shutil.copytree(TEMPLATES, root)
    (root / "letter" / "perdu.html").write_text(
        '{% extends "letter/_layout.html" %}{% block subject %}Objet{% endblock %}'
        "{% block body %}Un texte hors bloc.{% endblock %}",
        encoding="utf-8",
    )
    with pytest.raises(TemplateError, match=r"letter/perdu\.html: text outside a block"):
        Renderer(root).letter("perdu", _context(JEAN_BAPTISTE))


def test_qr_code_is_drawn_module_for_module(tmp_path: Path) -> None:
    """Rasterise the drawn QR code and compare every module with the encoder's matrix."""
    url = "https://suivi.carsat-centreouest.invalid/r/CO-SAMPLE-0001"
    path = tmp_path / "qr.pdf"
    canvas = Canvas(str(path), pagesize=(40 * mm, 40 * mm))
    draw_qr(canvas, url, 5 * mm, 5 * mm, 30 * mm)
    canvas.save()
    scale = 8
    document = pypdfium2.PdfDocument(path)
    image = document[0].render(scale=scale).to_pil().convert("L")
    document.close()
    matrix = qr_matrix(url)
    count = len(matrix)
    module = 30 * mm * scale / (count + 2 * QUIET_ZONE)
    left = 5 * mm * scale + QUIET_ZONE * module
    top = image.height - 35 * mm * scale + QUIET_ZONE * module
    drawn = [
        [
            image.getpixel((int(left + (c + 0.5) * module), int(top + (r + 0.5) * module))) < 128
            for c in range(count)
        ]
        for r in range(count)
    ]
    assert drawn == matrix
    quiet = [image.getpixel((int(left - 2 * module), int(top + (r + 0.5) * module))) for r in range(count)]
    assert min(quiet) > 200  # the quiet zone is left white


def _body_sizes(page) -> set[float]:  # type: ignore[no-untyped-def]
    """The font sizes of the text runs between the subject line and the footer of a first page."""
    sizes: set[float] = set()

    def visit(text, cm, tm, font, size) -> None:  # type: ignore[no-untyped-def]
        y = PAGE_HEIGHT - (tm[4] * cm[1] + tm[5] * cm[3] + cm[5])
        if text.strip() and 110 * mm < y < 250 * mm:
            sizes.add(round(size * tm[3], 1))

    page.extract_text(visitor_text=visit)
    return sizes


def test_letters_are_printed_large_enough_and_on_one_page(renderer: Renderer, tmp_path: Path) -> None:
    """12 pt at least; 14 pt for the fragile variants (large print); one sheet each."""
    path = tmp_path / "tailles.pdf"
    with LetterBatch(path, renderer) as batch:
        rows = [batch.add(name, _context(LONGEST_PERSON)) for name in renderer.names("letter")]
    reader = PdfReader(path)
    for row in rows:
        assert row.pages == 1, row.template
        sizes = _body_sizes(reader.pages[row.first_page - 1])
        assert sizes and min(sizes) >= (14 if row.template.endswith("_fragile") else 12), (
            row.template,
            sizes,
        )
