"""E-mail: every template for people with edge data, with its content, its HTML and its safety."""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

import pytest

from outreach.rendering import Links, Renderer, TemplateError, person_context
from outreach.rendering.lint import audit_html
from outreach.rendering.samples import LONGEST_PERSON, SAMPLE_AS_OF, SAMPLE_EXTRA, SAMPLE_PEOPLE

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
PEOPLE = [*SAMPLE_PEOPLE, LONGEST_PERSON]

# What each message must say (in both parts), whoever it is for.
CONTENT = {
    "career_statement_35": ["relevé de carrière", "35 ans", "période manquante", "simulateur"],
    "prepare_retirement": ["Ateliers retraite", "webinaires", "simulateur", "plusieurs employeurs"],
    "retirement_claim": ["4 à 6 mois", "demande de retraite en ligne", "tous vos régimes", "rendez-vous"],
    "welcome_retirement": ["autour du 9", "Bienvenue à la retraite", "action sociale", "forums seniors"],
    "complaint_acknowledgement": ["REC-2026-0004817", "3 novembre 2026", "bien reçu votre réclamation"],
    "complaint_follow_up": ["REC-2026-0004817", "médiateur de l’Assurance retraite", "toujours suivi"],
    "survivor_pension": ["pension de réversion", "condoléances", "par téléphone pour remplir"],
    "retirement_claim_soon": ["âge légal", "dès maintenant", "tous vos régimes"],
    "survivor_pension_information": ["pension de réversion", "pas de date limite", "tous les régimes"],
}
FRAGILE_OFFER = "rendez-vous par téléphone, à l’heure qui vous convient"


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(TEMPLATES)


def _context(person: dict, **kwargs) -> dict:
    return person_context(person, as_of=SAMPLE_AS_OF, extra=SAMPLE_EXTRA, **kwargs)


def test_every_journey_has_a_standard_and_a_fragile_message_on_every_channel(renderer: Renderer) -> None:
    expected = sorted([*CONTENT, *(f"{name}_fragile" for name in CONTENT)])
    for channel in ("email", "letter"):
        assert renderer.names(channel) == expected
    # the information on survivor's pensions is long: e-mail and letter only
    assert renderer.names("sms") == [n for n in expected if not n.startswith("survivor_pension_information")]


@pytest.mark.parametrize("person", PEOPLE, ids=lambda p: p["person_id"])
def test_every_email_renders_with_its_content(renderer: Renderer, person: dict) -> None:
    context = _context(person)
    greeting = context["person"]["greeting"]
    for name in renderer.names("email"):
        email = renderer.email(name, context)
        base = name.removesuffix("_fragile")
        unescaped_html = email.html.replace("&#39;", "'")
        for phrase in CONTENT[base]:
            assert phrase in email.text, f"{name}: {phrase!r} missing from the text part"
            assert phrase in unescaped_html, f"{name}: {phrase!r} missing from the HTML part"
        assert email.text.startswith(f"{greeting}\n")
        assert email.subject and "\n" not in email.subject and "{" not in email.subject
        assert email.preheader and email.preheader.replace("'", "&#39;") in email.html
        escaped_subject = email.subject.replace("'", "&#39;")
        assert f"<title>{escaped_subject}</title>" in email.html
        assert (
            "3960" in email.text and "lassuranceretraite.fr" in email.text and "France Services" in email.text
        )
        if email.message_class == "information":  # a service e-mail has it in its header only
            assert (
                context["links"]["unsubscribe"] in email.text
                and context["links"]["unsubscribe"] in email.html
            )
        assert (FRAGILE_OFFER in email.text) == name.endswith("_fragile")
        assert audit_html(name, email.html) == []


SERVICE_MESSAGES = {"complaint_acknowledgement", "complaint_follow_up"}


@pytest.mark.parametrize("person", PEOPLE[:2], ids=lambda p: p["person_id"])
def test_every_email_carries_its_unsubscribe_headers(renderer: Renderer, person: dict) -> None:
    context = _context(person)
    unsubscribe = f"<{context['links']['unsubscribe']}>"
    for name in renderer.names("email"):
        email = renderer.email(name, context)
        service = name.removesuffix("_fragile") in SERVICE_MESSAGES
        assert email.message_class == ("service" if service else "information")
        expected = {"List-Unsubscribe": unsubscribe, "X-Outreach-Message-Class": email.message_class}
        if not service:
            expected["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        assert email.headers == expected, name


def test_names_and_apostrophes_are_escaped_in_html_only(renderer: Renderer) -> None:
    email = renderer.email("career_statement_35", _context(SAMPLE_PEOPLE[1]))  # M. Jean-Baptiste N'Diaye
    assert "Bonjour Monsieur N'Diaye," in email.text
    assert "Bonjour Monsieur N&#39;Diaye," in email.html


def test_missing_civility_and_first_name_fall_back_politely(renderer: Renderer) -> None:
    early = person_context(SAMPLE_PEOPLE[2], as_of=date(2026, 10, 20))  # only a last name, retired 1 Oct
    email = renderer.email("welcome_retirement", early)
    assert email.text.startswith("Bonjour,\n") and email.subject == "Bienvenue à la retraite"
    assert "Votre premier versement est prévu le 9 novembre 2026." in email.text
    late = renderer.email("welcome_retirement", _context(SAMPLE_PEOPLE[2]))  # 26 Nov: already paid
    assert "premier versement" not in late.text and "autour du 9" in late.text
    no_date = renderer.email("welcome_retirement", _context(SAMPLE_PEOPLE[0]))  # not retired: no date
    assert "premier versement" not in no_date.text and "autour du 9" in no_date.text


def test_html_is_built_for_mail_clients(renderer: Renderer) -> None:
    html = renderer.email("prepare_retirement", _context(SAMPLE_PEOPLE[0])).html
    assert html.startswith("<!DOCTYPE html>") and '<html lang="fr">' in html
    assert 'role="presentation"' in html  # layout tables
    assert '<h1 style="' in html and '<p style="' in html and 'class="button" href=' in html
    style_blocks = re.findall(r"<style>(.*?)</style>", html, re.DOTALL)
    assert len(style_blocks) == 1 and "@media" in style_blocks[0]  # only what cannot be inlined is left
    assert 'class="preheader" style="display: none;' in html
    assert "<img" not in html  # no open pixel unless tracking gives one


def test_tracking_contract_fills_links_and_pixel(renderer: Renderer) -> None:
    links = Links(
        unsubscribe="https://t.example.org/u/abc",
        response="https://t.example.org/r/abc",
        response_short="t.example.org/r/abc",
        pixel="https://t.example.org/o/abc.gif",
        track=lambda url: f"https://t.example.org/c/abc?u={url}",
    )
    email = renderer.email("career_statement_35", _context(SAMPLE_PEOPLE[1], links=links))
    assert 'href="https://t.example.org/c/abc?u=https://www.lassuranceretraite.fr"' in email.html
    assert "https://t.example.org/c/abc?u=https://www.carsat-centreouest.fr" in email.text
    assert 'href="https://t.example.org/u/abc"' in email.html  # unsubscribe is not wrapped
    assert '<img src="https://t.example.org/o/abc.gif" width="1" height="1" alt=""' in email.html
    hrefs = re.findall(r'href="([^"]+)"', email.html)
    assert hrefs and all(h.startswith("https://t.example.org/") for h in hrefs)


def test_placeholder_links_are_obviously_placeholders() -> None:
    links = Links.placeholders("CO-1")
    assert links.unsubscribe.startswith("https://") and ".invalid/" in links.unsubscribe
    assert links.track("https://www.lassuranceretraite.fr") == "https://www.lassuranceretraite.fr"


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """A copy of the project's templates to break on purpose."""
    root = tmp_path / "templates"
    shutil.copytree(TEMPLATES, root)
    return root


def _write_mail(root: Path, name: str, html_body: str, text_body: str = "Texte") -> None:
    (root / "mail" / f"{name}.html").write_text(
        '{% extends "mail/_layout.html" %}\n{% block content %}\n' + html_body + "\n{% endblock %}\n", "utf-8"
    )
    (root / "mail" / f"{name}.txt").write_text(
        '{% extends "mail/_layout.txt" %}\n{% block subject %}Objet{% endblock %}'
        "{% block preheader %}Pré{% endblock %}\n{% block content %}" + text_body + "{% endblock %}\n",
        "utf-8",
    )


@pytest.mark.parametrize(
    "expression",
    [
        "''.__class__.__mro__",
        "''.__class__.__mro__[1].__subclasses__()",
        "person.__class__",
        "fund.__class__.__init__.__globals__",
        "track.__globals__",
        "cycler.__init__.__globals__",
        "person.fragility_flags.append('x')",
        "fund.clear()",
    ],
)
def test_sandbox_escape_attempts_fail(scratch: Path, expression: str) -> None:
    _write_mail(scratch, "evasion", f"<p>Bonjour</p>\n<p>{{{{ {expression} }}}}</p>")
    renderer = Renderer(scratch)
    context = _context(SAMPLE_PEOPLE[0])
    with pytest.raises(TemplateError, match=r"mail/evasion\.html, line 4: (unsafe access|undefined)"):
        renderer.email("evasion", context)
    assert context["person"]["fragility_flags"] == ["disability", "invalidity_pension"]


def test_undefined_variable_stops_the_render_and_names_template_line_and_variable(scratch: Path) -> None:
    _write_mail(scratch, "coquille", "<p>Bonjour {{ person.addressee }},</p>\n<p>{{ person.frist_name }}</p>")
    with pytest.raises(TemplateError) as caught:
        Renderer(scratch).email("coquille", _context(SAMPLE_PEOPLE[0]))
    message = str(caught.value)
    assert message.startswith("mail/coquille.html, line 4: undefined variable")
    assert "'frist_name' is not defined" in message


def test_missing_campaign_value_is_an_error_not_an_empty_string(renderer: Renderer) -> None:
    context = person_context(SAMPLE_PEOPLE[1], as_of=SAMPLE_AS_OF)  # no extra given
    with pytest.raises(
        TemplateError,
        match=r"^mail/complaint_acknowledgement\.txt, line 8: undefined variable: 'complaint_opened_on'",
    ):
        renderer.email("complaint_acknowledgement", context)


def test_syntax_error_names_file_and_line(scratch: Path) -> None:
    _write_mail(scratch, "syntaxe", "<p>Bonjour</p>\n<p>{% if person.age %}</p>")
    with pytest.raises(TemplateError, match=r"mail/syntaxe\.html, line \d+: syntax error"):
        Renderer(scratch).email("syntaxe", _context(SAMPLE_PEOPLE[0]))


def test_unknown_template_is_a_clear_error(renderer: Renderer) -> None:
    with pytest.raises(TemplateError, match=r"mail/nexiste_pas\.txt not found"):
        renderer.email("nexiste_pas", _context(SAMPLE_PEOPLE[0]))
