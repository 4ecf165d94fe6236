"""French typography: ’ and a narrow no-break space before ; : ? ! in e-mails and letters, never in SMS."""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from outreach.rendering import Renderer, person_context
from outreach.rendering.lint import lint
from outreach.rendering.samples import SAMPLE_AS_OF, SAMPLE_EXTRA, SAMPLE_PEOPLE

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
RENDERER = Renderer(TEMPLATES)
CONTEXT = person_context(SAMPLE_PEOPLE[0], as_of=SAMPLE_AS_OF, extra=SAMPLE_EXTRA)  # no ' in her name
SPACED_SIGN = re.compile(r"\S[ \u00a0][;:?!]")
STRAIGHT_APOSTROPHE = re.compile(r"[A-Za-zÀ-ÿ]'[A-Za-zÀ-ÿ]")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self._skip = tag in {"style", "title"}

    def handle_endtag(self, tag: str) -> None:
        self._skip = False

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def _html_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(parser.parts)


@pytest.mark.parametrize("name", RENDERER.names("email"))
def test_email_html_uses_french_typography(name: str) -> None:
    text = _html_text(RENDERER.email(name, CONTEXT).html)
    assert SPACED_SIGN.findall(text) == [] and STRAIGHT_APOSTROPHE.findall(text) == []
    assert "\u202f:" in text and "’" in text


@pytest.mark.parametrize("name", RENDERER.names("letter"))
def test_letters_use_french_typography(name: str) -> None:
    letter = RENDERER.letter(name, CONTEXT)
    text = " ".join([letter.subject, *(block.markup for block in letter.blocks)])
    assert SPACED_SIGN.findall(text) == [] and STRAIGHT_APOSTROPHE.findall(text) == []
    assert "’" in text


@pytest.mark.parametrize("name", RENDERER.names("sms"))
def test_sms_keep_gsm_punctuation(name: str) -> None:
    body = RENDERER.sms(name, CONTEXT).body
    assert "\u202f" not in body and "’" not in body


def test_lint_wants_the_typographic_apostrophe_and_narrow_spaces(tmp_path: Path) -> None:
    root = tmp_path / "templates"
    shutil.copytree(TEMPLATES, root)
    (root / "mail" / "_help_fragile.html").write_text(
        '{% from "mail/_macros.html" import help_box %}\n'
        '{% call help_box("Besoin d’aide\u202f?") %}\n'
        "<p>Une question ? Appelez l'agence : {{ fund.phone }}.</p>\n{% endcall %}\n",
        encoding="utf-8",
    )
    messages = [str(problem) for problem in lint(Renderer(root))]
    assert messages == [
        "mail/_help_fragile.html:3: use a narrow no-break space (U+202F) in ':': 'l'agence :'",
        "mail/_help_fragile.html:3: use a narrow no-break space (U+202F) in '?': 'question ?'",
        "mail/_help_fragile.html:3: write ’ for the apostrophe in 'l'agence'",
    ]
