"""What a template cannot do however it is written: sign links for another message."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from outreach.rendering import Renderer, TemplateError, person_context
from outreach.rendering.samples import SAMPLE_AS_OF, SAMPLE_PEOPLE
from outreach.tracking.links import LinkBuilder
from outreach.tracking.tokens import InvalidToken, Purpose, TokenSigner

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
TRACKING = "https://suivi.carsat-centreouest.fr"
SIGNER = TokenSigner(b"a-tracking-secret-for-sandbox-tests-0123")
LINKS = LinkBuilder(TRACKING, SIGNER)
CLICK_TOKEN = re.compile(re.escape(TRACKING) + r"/c/([A-Za-z0-9_-]+)")


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """A copy of the project's templates to break on purpose."""
    root = tmp_path / "templates"
    shutil.copytree(TEMPLATES, root)
    return root


def _write_html(root: Path, name: str, body: str) -> None:
    """`mail/NAME.html` with `body` as its content block, starting on line 3."""
    (root / "mail" / f"{name}.html").write_text(
        '{% extends "mail/_layout.html" %}\n{% block content %}\n' + body + "\n{% endblock %}\n", "utf-8"
    )


# -- item 9: a template signs links only for its own message ----------------------------------------


def _signed_messages(text: str) -> set[int]:
    """The message ids of every click link in `text`, as the tracking service would read them."""
    ids = set()
    for token in CLICK_TOKEN.findall(text):
        try:
            ids.add(SIGNER.verify(token, Purpose.CLICK).message_id)
        except InvalidToken:
            continue
    return ids


def test_the_shipped_templates_sign_each_click_link_for_their_own_message() -> None:
    renderer = Renderer(TEMPLATES)
    for message_id in (101, 102, 103):  # the first is rendered in full, the others from its stencil
        context = person_context(SAMPLE_PEOPLE[1], as_of=SAMPLE_AS_OF, links=LINKS.for_message(message_id))
        email = renderer.email("career_statement_35", context)
        assert _signed_messages(email.html) == _signed_messages(email.text) == {message_id}


@pytest.mark.parametrize(
    "expression",
    [
        "track.func(424242, fund.national_site)",
        "track.func(424242, 'https://www.lassuranceretraite.fr/piege')",
        "track(fund.national_site, 424242)",
    ],
)
def test_a_template_cannot_sign_a_click_link_for_another_message(scratch: Path, expression: str) -> None:
    _write_html(scratch, "career_statement_35", f'<p><a href="{{{{ {expression} }}}}">Votre espace</a></p>')
    renderer = Renderer(scratch)
    for message_id in (101, 102, 103):
        context = person_context(SAMPLE_PEOPLE[0], as_of=SAMPLE_AS_OF, links=LINKS.for_message(message_id))
        with pytest.raises(TemplateError) as refused:
            email = renderer.email("career_statement_35", context)
            assert _signed_messages(email.html) <= {message_id}, "a link signed for another message"
        assert (refused.value.template, refused.value.line) == ("mail/career_statement_35.html", 3)
