"""What a template cannot do however it is written: sign links for another message, or run away.

Templates are written by the communication team and run in the sandbox; a slip (a loop typed with one
zero too many, a macro calling itself) must stop with the file and the line, not hang `templates lint`
or a campaign, and a template sees only what signs links for its own message.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from outreach.campaigns.runner import Composer
from outreach.channels.base import OutgoingMessage, Reconciliation, SendResult
from outreach.delivery import pipeline
from outreach.delivery.pipeline import Arm, StepHalted, StepSpec
from outreach.delivery.policy import PressureLimits, StepPolicy
from outreach.models import Message, Person
from outreach.rendering import Renderer, TemplateError, person_context
from outreach.rendering.samples import SAMPLE_AS_OF, SAMPLE_PEOPLE
from outreach.tracking.links import LinkBuilder
from outreach.tracking.tokens import InvalidToken, Purpose, TokenSigner
from tests.people import load, person

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
TRACKING = "https://suivi.carsat-centreouest.fr"
SIGNER = TokenSigner(b"a-tracking-secret-for-sandbox-tests-0123")
LINKS = LinkBuilder(TRACKING, SIGNER)
CLICK_TOKEN = re.compile(re.escape(TRACKING) + r"/c/([A-Za-z0-9_-]+)")
LINT_TIMEOUT = 60
"""Seconds: the bounded lint takes a few; the unbounded one never ends."""


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


# -- item 8: rendering is bounded in work and size ---------------------------------------------------

RUNAWAYS = {
    # template file: (its content block from line 3, the line the lint must name)
    "career_statement_35": (
        "{% for i in range(100000) %}\n{% for j in range(100000) %}.{% endfor %}\n{% endfor %}",
        3,
    ),
    "prepare_retirement": (
        "<p>Bonjour</p>\n{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}",
        4,
    ),
    "retirement_claim": (
        "{% for i in range(5000) %}\n"
        "<p>{{ 'Votre demande de retraite en ligne, étape par étape. ' * 5 }}</p>\n{% endfor %}",
        4,
    ),
    "welcome_retirement": (
        "{% macro echo(n) %}{% if n %}{{ echo(n - 1) }}{{ echo(n - 1) }}{% endif %}{% endmacro %}\n"
        "<p>{{ echo(40) }}</p>",
        3,
    ),
    "survivor_pension": ("<p>Bonjour</p>\n{% set ligne = '─' * 10000000 %}", 4),
    "complaint_follow_up": (
        "{% set texte = namespace(valeur='Réclamation ') %}\n{% for i in range(16) %}\n"
        "{% set texte.valeur = texte.valeur ~ texte.valeur %}\n{% endfor %}",
        5,
    ),
    "complaint_acknowledgement": ("<p>Bonjour</p>\n{% set nombre = 7 ** (7 ** 7) %}", 4),
}


def test_lint_stops_runaway_templates_quickly_with_their_file_and_line(tmp_path: Path, scratch: Path) -> None:
    for name, (body, _) in RUNAWAYS.items():
        _write_html(scratch, name, body)
    environment = {
        **os.environ,
        "OUTREACH_HOME": str(scratch.parent),
        "OUTREACH_VAR_DIR": str(tmp_path / "var"),
    }
    try:
        result = subprocess.run(
            [sys.executable, "-m", "outreach", "templates", "lint"],
            capture_output=True,
            text=True,
            env=environment,
            cwd=tmp_path,
            timeout=LINT_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"templates lint still runs after {LINT_TIMEOUT} s: rendering is unbounded")
    assert result.returncode != 0
    for name, (_, line) in RUNAWAYS.items():
        reported = [row for row in result.stdout.splitlines() if row.startswith(f"email:{name}: ")]
        assert reported, f"{name}: not reported\n{result.stdout}"
        assert f"mail/{name}.html, line {line}: " in reported[0], reported[0]
    assert "email:career_statement_35_fragile: mail/career_statement_35.html, line 3: " in result.stdout


class KeepingChannel:
    """An e-mail channel that keeps what it is given."""

    name = "email"
    max_batch = 10

    def __init__(self) -> None:
        self.sent: list[OutgoingMessage] = []

    def send(self, batch: Sequence[OutgoingMessage]) -> list[SendResult]:
        self.sent += batch
        return [SendResult(m.message_key, "sent", provider_id="p") for m in batch]

    def reconcile(self, message_keys: Sequence[str]) -> Reconciliation:
        return Reconciliation(found={})


def test_a_message_too_large_halts_the_step_and_nothing_half_rendered_leaves(
    engine: Engine, scratch: Path
) -> None:
    """One person's values make the e-mail runaway-large: the step halts before its batch is claimed."""
    _write_html(
        scratch,
        "career_statement_35",
        "<p>Bonjour {{ person.addressee }},</p>\n"
        "{% if person.id == 'P00004' %}\n"
        "{% for i in range(5000) %}<p>{{ person.full_name }} : votre relevé est prêt.</p>{% endfor %}\n"
        "{% endif %}",
    )
    spec = StepSpec(
        campaign="essai",
        step="seule",
        journey="follow_career",
        policy=StepPolicy(channels=("email",)),
        arms=(Arm("main", 1.0, {("email", "standard"): "career_statement_35"}),),
    )
    now = datetime(2026, 11, 26, 9, 30)
    load(engine, [person(i, date(1991, 11, 14)) for i in range(8)])
    run_id = pipeline.open_run(engine, "essai", "w1", SAMPLE_AS_OF)
    pipeline.plan(engine, run_id, spec, select(Person.person_id))
    pipeline.decide_step(engine, run_id, spec, PressureLimits(), now)
    channel = KeepingChannel()
    composer = Composer(Renderer(scratch), SAMPLE_AS_OF, None, ("essai", "seule"))

    with pytest.raises(StepHalted, match=r"mail/career_statement_35\.html, line 5: "):
        pipeline.send_step(engine, run_id, spec, {"email": channel}, composer, "w", clock=lambda: now)

    assert channel.sent == []
    with engine.connect() as connection:
        states = set(connection.execute(select(Message.status, Message.attempts)).all())
    assert states == {("queued", 0)}
