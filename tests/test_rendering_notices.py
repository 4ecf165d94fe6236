"""Legal and trust mentions: who processes the data, why, and how to say no, on every e-mail and letter."""

from __future__ import annotations

from pathlib import Path

import pytest
from pypdf import PdfReader

from outreach.rendering import LetterBatch, Renderer, person_context
from outreach.rendering.samples import SAMPLE_AS_OF, SAMPLE_EXTRA, SAMPLE_PEOPLE

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
RENDERER = Renderer(TEMPLATES)
PROCESSOR = "Vos données personnelles sont traitées par la CARSAT Centre-Ouest pour"
WHY_INFORMATION = "pour vous informer sur vos droits à la retraite"
PRIVACY_CONTACT = "délégué à la protection des données"


def _context() -> dict:
    return person_context(SAMPLE_PEOPLE[1], as_of=SAMPLE_AS_OF, extra=SAMPLE_EXTRA)


def _one_line(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("name", RENDERER.names("email"))
def test_every_email_says_who_processes_the_data_and_how_to_object(name: str) -> None:
    context = _context()
    email = RENDERER.email(name, context)
    unsubscribe = context["links"]["unsubscribe"]
    for part in (email.text, email.html):
        assert PROCESSOR in _one_line(part) and PRIVACY_CONTACT in part
        if email.message_class == "service":
            assert "d’information" in part and "vous le recevez même si" in part
            assert "Ne plus recevoir" not in part and "Pour ne plus recevoir" not in part
            assert "Vous recevez cet e-mail d’information" not in part
            assert unsubscribe not in part  # only in the List-Unsubscribe header
        else:
            assert WHY_INFORMATION in _one_line(part) and unsubscribe in part
    assert RENDERER.message_class("complaint_acknowledgement") == "service"


def test_every_letter_offers_a_way_out_and_names_the_data_processor(tmp_path: Path) -> None:
    """A letter has no link: the notice gives the phone, the personal space and a postal address."""
    path = tmp_path / "batch.pdf"
    with LetterBatch(path, RENDERER) as batch:
        for name in RENDERER.names("letter"):
            batch.add(name, _context())
    for page in PdfReader(path).pages:
        text = _one_line(page.extract_text())
        assert PROCESSOR in text and WHY_INFORMATION in text
        assert "Pour ne plus recevoir nos courriers d’information" in text
        assert "3960, votre espace personnel sur lassuranceretraite.fr" in text
        assert (
            f"{PRIVACY_CONTACT}, CARSAT Centre-Ouest, 37 avenue du Président René Coty, 87048 Limoges Cedex"
            in text
        )
