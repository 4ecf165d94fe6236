"""`outreach templates lint` and `preview`: they pass on the project's templates and catch real mistakes."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import Engine, insert
from typer.testing import CliRunner

from outreach.cli.templates import app
from outreach.models import Person
from outreach.rendering import Renderer
from outreach.rendering.lint import contrast_ratio, lint
from outreach.rendering.samples import SAMPLE_PEOPLE

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    root = tmp_path / "templates"
    shutil.copytree(TEMPLATES, root)
    return root


def _messages(root: Path) -> list[str]:
    return [str(problem) for problem in lint(Renderer(root))]


def test_project_templates_are_clean() -> None:
    assert _messages(TEMPLATES) == []


def test_lint_finds_typos_unknown_variables_and_bad_links(scratch: Path) -> None:
    (scratch / "mail" / "career_statement_35.html").write_text(
        '{% extends "mail/_layout.html" %}\n{% block content %}\n<p>{{ person.frist_name }}</p>\n'
        '<p><a href="http://www.lassuranceretraite.fr">site</a> {{ campagne }} {{ fund.telephone }}</p>\n'
        "{% endblock %}\n",
        encoding="utf-8",
    )
    assert _messages(scratch) == [
        "mail/career_statement_35.html:4: unknown variable 'campagne' (see templates/README.md for the list)",
        "mail/career_statement_35.html:3: 'person.frist_name' does not exist (see templates/README.md)",
        "mail/career_statement_35.html:4: 'fund.telephone' does not exist (see templates/README.md)",
        "mail/career_statement_35.html:4: link 'http://www.lassuranceretraite.fr' is not https",
    ]


def test_lint_wants_a_fragile_variant_of_the_same_message_class(scratch: Path) -> None:
    fragile = scratch / "mail" / "complaint_acknowledgement_fragile.txt"
    fragile.write_text(fragile.read_text(encoding="utf-8").split("\n", 1)[1], encoding="utf-8")
    assert _messages(scratch) == [
        "mail/complaint_acknowledgement_fragile.txt:1: message_class information, but service in "
        "mail/complaint_acknowledgement.txt (start both with {# message_class: service #} or neither)"
    ]


def test_lint_reports_a_wrong_message_class(scratch: Path) -> None:
    standard = scratch / "mail" / "survivor_pension.txt"
    standard.write_text(
        "{# message_class: transactionnel #}\n" + standard.read_text(encoding="utf-8"), "utf-8"
    )
    assert any(
        "mail/survivor_pension.txt, line 1: message_class must be one of information, service" in m
        for m in _messages(scratch)
    )


def test_lint_reports_syntax_errors_with_their_line(scratch: Path) -> None:
    (scratch / "letter" / "survivor_pension.html").write_text(
        '{% extends "letter/_layout.html" %}\n{% block body %}\n<p>{% if person.age %}</p>\n',
        encoding="utf-8",
    )
    messages = _messages(scratch)
    assert len(messages) == 1 and messages[0].startswith("letter/survivor_pension.html:")
    assert "syntax error" in messages[0]


def test_lint_checks_sms_length_for_the_longest_plausible_names(scratch: Path) -> None:
    source = (TEMPLATES / "sms" / "survivor_pension.txt").read_text(encoding="utf-8")
    (scratch / "sms" / "survivor_pension.txt").write_text(
        source.replace("transliterate: true", "transliterate: false"), encoding="utf-8"
    )
    messages = _messages(scratch)
    assert any(
        m.startswith("sms:survivor_pension: sms/survivor_pension.txt: this SMS needs") and "UCS-2" in m
        for m in messages
    ), messages


def test_lint_checks_accessibility(scratch: Path) -> None:
    (scratch / "mail" / "prepare_retirement.html").write_text(
        '{% extends "mail/_layout.html" %}\n{% block content %}\n'
        '<p><img src="https://www.carsat-centreouest.fr/logo.png"></p>\n'
        '<p><a href="{{ track(fund.national_site) }}"></a></p>\n'
        '<p style="color: #9A9A9A; background-color: #FFFFFF;">Texte trop pâle</p>\n'
        "{% endblock %}\n",
        encoding="utf-8",
    )
    (scratch / "mail" / "_layout.html").write_text(
        (TEMPLATES / "mail" / "_layout.html").read_text(encoding="utf-8").replace('lang="fr"', ""),
        encoding="utf-8",
    )
    messages = [m for m in _messages(scratch) if m.startswith("mail/prepare_retirement.html")]
    assert 'mail/prepare_retirement.html: the <html> element needs lang="fr" (screen readers)' in messages
    assert "mail/prepare_retirement.html: 1 image(s) without alt text" in messages
    assert any("has no text (screen readers say nothing)" in m for m in messages)
    assert any("contrast #9A9A9A on #FFFFFF is 2.8:1" in m for m in messages)


def test_contrast_ratio_matches_wcag() -> None:
    assert round(contrast_ratio("000000", "FFFFFF"), 1) == 21.0
    assert round(contrast_ratio("FFFFFF", "0B3D91"), 1) >= 4.5
    assert round(contrast_ratio("777777", "FFFFFF"), 2) == 4.48


def test_cli_lint(scratch: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["lint", "--dir", str(TEMPLATES)])
    assert ok.exit_code == 0 and "templates ok: 18 email, 16 sms, 18 letter" in ok.output
    (scratch / "sms" / "career_statement_35.txt").write_text(
        "{% extends 'sms/_layout.txt' %}", encoding="utf-8"
    )
    bad = runner.invoke(app, ["lint", "--dir", str(scratch)])
    assert bad.exit_code != 0
    assert "sms/career_statement_35.txt, line 1: no header declaring max_segments" in bad.output


def test_cli_preview_with_samples_writes_every_channel(tmp_path: Path) -> None:
    out = tmp_path / "apercu"
    result = CliRunner().invoke(
        app,
        ["preview", "career_statement_35_fragile", "--sample", "--out", str(out), "--as-of", "2026-11-26"],
    )
    assert result.exit_code == 0, result.output
    first = out / "career_statement_35_fragile--SAMPLE-0001"
    html = first.with_suffix(".email.html").read_text(encoding="utf-8")
    assert '<html lang="fr">' in html and "Madame de La Rochefoucauld-Lévis" in html
    text = first.with_suffix(".email.txt").read_text(encoding="utf-8")
    assert text.startswith("Objet : Votre relevé de carrière")
    sms = first.with_suffix(".sms.txt").read_text(encoding="utf-8")
    assert sms.startswith("CARSAT Centre-Ouest : Bonjour Madame, votre relevé de carrière")
    assert "1 segment(s), GSM-7" in sms and "1 segment(s), GSM-7" in result.output
    assert (out / "career_statement_35_fragile.letters.csv").read_text(encoding="utf-8").count("\n") == 5
    with Image.open(out / "career_statement_35_fragile.letters.png") as image:
        assert image.width > 800 and image.height > image.width  # a portrait A4 page


def test_cli_preview_for_a_person_of_the_database(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    row = {k: v for k, v in SAMPLE_PEOPLE[3].items() if k in Person.__table__.c}
    with sqlite_engine.begin() as connection:
        connection.execute(insert(Person.__table__), [row])
    monkeypatch.setattr("outreach.db.default_engine", lambda: sqlite_engine)
    out = tmp_path / "apercu"
    runner = CliRunner()
    result = runner.invoke(app, ["preview", "survivor_pension", "--person", "SAMPLE-0004", "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = (out / "survivor_pension--SAMPLE-0004.email.txt").read_text(encoding="utf-8")
    assert "Bonjour Madame Châteauneuf-Rivière," in text and "pension de réversion" in text
    missing = runner.invoke(app, ["preview", "survivor_pension", "--person", "NOBODY", "--out", str(out)])
    assert missing.exit_code != 0 and "person 'NOBODY' is not in the people table" in str(missing.exception)


def test_cli_lint_reports_each_sms_worst_case_and_standard_ones_cost_one_segment() -> None:
    """The segment count per SMS template, for the worst sample (longest names included); the
    standard messages, sent in the largest numbers, fit in one SMS."""
    result = CliRunner().invoke(app, ["lint", "--dir", str(TEMPLATES)])
    assert result.exit_code == 0, result.output
    costs = dict(re.findall(r"^sms/(\w+)\.txt: (\d+) segment\(s\) at worst", result.output, re.MULTILINE))
    assert sorted(costs) == Renderer(TEMPLATES).names("sms")
    standard = {name: int(n) for name, n in costs.items() if not name.endswith("_fragile")}
    assert standard == dict.fromkeys(standard, 1)


def _sms(scratch: Path, name: str, message: str) -> None:
    (scratch / "sms" / f"{name}.txt").write_text(
        '{# max_segments: 2 #}\n{% extends "sms/_layout.txt" %}\n{% block message %}'
        f"{message}{{% endblock %}}\n",
        encoding="utf-8",
    )


def test_lint_flags_french_words_written_without_their_accents(scratch: Path) -> None:
    _sms(
        scratch,
        "complaint_acknowledgement",
        "Bonjour, votre reclamation est bien recue. Vous avez peut-etre droit a une aide.",
    )
    messages = _messages(scratch)
    for wrong, right in (("reclamation", "réclamation"), ("recue", "reçue"), ("peut-etre", "peut-être")):
        assert any(f"'{wrong}' is written without its accents: write '{right}'" in m for m in messages), (
            messages
        )
    assert all(m.startswith("sms/complaint_acknowledgement") for m in messages), messages


def test_lint_flags_a_link_running_on_into_the_next_words(scratch: Path) -> None:
    _sms(
        scratch,
        "prepare_retirement",
        "Ateliers : {{ fund.regional_site_label }} Rendez-vous au {{ fund.phone }}.",
    )
    assert _messages(scratch) == [
        f"sms/{name}.txt: 'carsat-centreouest.fr' runs on into the next words: end it with a "
        "full stop or a comma (phones take what follows for part of the link)"
        for name in ("prepare_retirement", "prepare_retirement_fragile")
    ]


def test_lint_fails_a_letter_that_takes_a_second_page(scratch: Path) -> None:
    long_paragraph = (
        "<p>" + "Nous vous expliquons chaque étape de votre démarche, sans jargon. " * 6 + "</p>\n"
    )
    (scratch / "letter" / "welcome_retirement_fragile.html").write_text(
        '{% extends "letter/welcome_retirement.html" %}\n'
        '{% block help %}{% include "letter/_help_fragile.html" %}' + long_paragraph + "{% endblock %}\n",
        encoding="utf-8",
    )
    assert _messages(scratch) == [
        "letter/welcome_retirement_fragile.html: 2 pages for sample SAMPLE-0001 (fragile): "
        "a letter must fit on one page (shorten it)"
    ]
