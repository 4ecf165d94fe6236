"""Stencils give byte for byte what a full render gives, or step aside: never another text, never an error
of their own, never a weaker sandbox."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from jinja2.sandbox import unsafe

from outreach.rendering import Links, RenderedEmail, Renderer, TemplateError, person_context
from outreach.rendering.samples import LONGEST_PERSON, SAMPLE_AS_OF, SAMPLE_EXTRA, SAMPLE_PEOPLE

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


def _tracked(index: int, pixel: bool) -> Links:
    return Links(
        unsubscribe=f"https://t.example.org/u/{index}",
        response=f"https://t.example.org/r/{index}",
        response_short=f"t.example.org/r/{index}",
        pixel=f"https://t.example.org/o/{index}.gif" if pixel else None,
        track=lambda url: f"https://t.example.org/c/{index}?u={url}",
    )


def _contexts() -> list[dict[str, Any]]:
    """Every sample person, before and after a retirement date, tracked or not, with or without pixel."""
    contexts = []
    for index, person in enumerate([*SAMPLE_PEOPLE, LONGEST_PERSON] * 2):
        links = None if index % 3 == 0 else _tracked(index, pixel=index % 3 == 1)
        as_of = SAMPLE_AS_OF if index % 2 else date(2026, 10, 20)
        contexts.append(person_context(person, as_of=as_of, links=links, extra=SAMPLE_EXTRA))
    return contexts


def _texts(email: RenderedEmail) -> tuple[str, str, str, str]:
    return email.subject, email.preheader, email.html, email.text


def test_every_message_of_the_project_is_stencilled_and_identical_to_its_full_render() -> None:
    fast, full = Renderer(TEMPLATES), Renderer(TEMPLATES, stencils=False)
    contexts = _contexts()
    for name in fast.names("email"):
        for context in contexts:
            assert _texts(fast.email(name, context)) == _texts(full.email(name, context)), name
        assert fast.stencil_obstacles("email", name) == [], name
    for name in fast.names("sms"):
        for context in contexts:
            assert fast.sms(name, context) == full.sms(name, context), name
        assert fast.stencil_obstacles("sms", name) == [], name


def test_a_filled_message_carries_its_forms_and_they_spell_its_text() -> None:
    renderer = Renderer(TEMPLATES)
    contexts = _contexts()
    first = renderer.email("career_statement_35", contexts[0])
    assert first.html_form is None and first.text_form is None  # the first of its kind: rendered in full
    for context in contexts:  # then a stencil for each combination of decisions (pixel or not)
        renderer.email("career_statement_35", context)
    for context in contexts:
        email = renderer.email("career_statement_35", context)
        assert email.html_form is not None and email.text_form is not None
        assert email.html_form.text() == email.html and email.text_form.text() == email.text
        assert context["person"]["greeting"].replace("'", "&#39;") in email.html_form.values
    forms = {renderer.email("career_statement_35", c).html_form.texts for c in contexts}  # type: ignore[union-attr]
    assert len(forms) == 2  # with and without an open pixel


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    root = tmp_path / "templates"
    shutil.copytree(TEMPLATES, root)
    return root


def _sms(root: Path, name: str, body: str) -> None:
    (root / "sms" / f"{name}.txt").write_text("{# max_segments: 3 #}\n" + body + "\n", "utf-8")


PEOPLE = [*SAMPLE_PEOPLE, LONGEST_PERSON]

DECIDING = {
    "conditions": "{% if person.is_fragile %}Fragile{% elif person.age and person.age > 60 %}Senior"
    "{% else %}Autre{% endif %} {{ person.addressee }}",
    "comparisons": "{% if person.first_payment_date and person.first_payment_date >= today %}"
    "Le {{ person.first_payment_date|date_fr }}.{% endif %}"
    "{% if person.civility == 'Mme' %} Madame{% endif %}",
    "tests and filters": "{{ person.first_name|default('?')|upper }} {% if person.city is none %}sans ville"
    "{% endif %}{{ person.last_name|title }} {{ extra.complaint_reference|lower }}",
    "static loops": "{% for word in ['a', 'b'] %}{{ word }}{{ person.civility_short }}{% endfor %}",
    "assignments": "{% set who = person.short_addressee %}{{ who }} {{ who }} {{ track('https://x.fr') }}",
    "membership": "{% if person.civility in ['M', 'Mme'] %}{{ person.civility_label }}{% endif %}",
}


@pytest.mark.parametrize("body", DECIDING.values(), ids=DECIDING.keys())
def test_decisions_on_per_person_values_are_replayed_exactly(scratch: Path, body: str) -> None:
    _sms(scratch, "essai", body)
    fast, full = Renderer(scratch), Renderer(scratch, stencils=False)
    for person in PEOPLE * 2:
        for as_of in (SAMPLE_AS_OF, date(2026, 10, 20)):
            context = person_context(person, as_of=as_of, extra=SAMPLE_EXTRA, links=_tracked(1, True))
            assert fast.sms("essai", context) == full.sms("essai", context)
    assert fast.stencil_obstacles("sms", "essai") == []


REFUSED = {
    "captured text": "{% set said %}{{ person.first_name }}{% endset %}{% if said %}{{ said }}{% endif %}",
    "a call's result tested": "{% macro m() %}{{ person.first_name }}{% endmacro %}{% if m() %}x{% endif %}",
    "iteration": "{% for flag in person.fragility_flags %}{{ flag }} {% endfor %}fin",
    "another filter": "{{ person.fragility_flags|join(', ') }} fin",
    "changing output": "{{ ['a', 'b', 'c']|random }} {{ person.addressee }}",
    "text from a value": "{{ person.first_name ~ '!' }} fin",
    "track rebound": "{% set track = person.first_name %}{{ track }} fin",
}


@pytest.mark.parametrize("body", REFUSED.values(), ids=REFUSED.keys())
def test_what_a_stencil_cannot_replay_is_rendered_in_full(scratch: Path, body: str) -> None:
    _sms(scratch, "essai", body)
    fast, full = Renderer(scratch), Renderer(scratch, stencils=False)
    for person in PEOPLE:
        context = person_context(person, as_of=SAMPLE_AS_OF)
        if "random" not in body:
            assert fast.sms("essai", context) == full.sms("essai", context)
        else:
            fast.sms("essai", context)
    assert fast.stencil_obstacles("sms", "essai") != []


def test_errors_still_come_from_the_full_render_once_stencils_are_learnt() -> None:
    renderer = Renderer(TEMPLATES)
    for person in PEOPLE:
        renderer.email(
            "complaint_acknowledgement", person_context(person, as_of=SAMPLE_AS_OF, extra=SAMPLE_EXTRA)
        )
    without_extra = person_context(SAMPLE_PEOPLE[1], as_of=SAMPLE_AS_OF)
    with pytest.raises(
        TemplateError, match=r"^mail/complaint_acknowledgement\.txt, line 8: undefined variable"
    ):
        renderer.email("complaint_acknowledgement", without_extra)


def test_a_per_message_function_the_sandbox_refuses_is_refused_after_stencils_too() -> None:
    renderer = Renderer(TEMPLATES)
    for index, person in enumerate(PEOPLE):
        renderer.email(
            "career_statement_35", person_context(person, as_of=SAMPLE_AS_OF, links=_tracked(index, True))
        )

    @unsafe
    def track(url: str) -> str:
        return url

    links = Links("https://t.example.org/u", "https://t.example.org/r", "t.example.org/r", None, track)
    with pytest.raises(TemplateError, match="unsafe access refused by the sandbox"):
        renderer.email("career_statement_35", person_context(PEOPLE[0], as_of=SAMPLE_AS_OF, links=links))
