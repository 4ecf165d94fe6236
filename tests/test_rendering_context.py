"""The template context and the load-time CSS inlining."""

from __future__ import annotations

from datetime import date

import pytest

from outreach.rendering import AddressError, person_context
from outreach.rendering.french import french_date
from outreach.rendering.inline import inline_template_source
from outreach.rendering.samples import SAMPLE_PEOPLE


def test_person_view_prepares_french_forms_of_address() -> None:
    context = person_context(SAMPLE_PEOPLE[0], as_of=date(2026, 11, 26), reference="CO-42")
    person = context["person"]
    assert person["civility_label"] == "Madame" and person["civility_short"] == "Mme"
    assert person["addressee"] == "Madame de La Rochefoucauld-Lévis"
    assert person["short_addressee"] == "Mme de La Rochefoucauld-Lévis"
    assert person["full_name"] == "Marie-Thérèse de La Rochefoucauld-Lévis"
    assert person["salutation"] == "Madame"
    assert person["age"] == 64  # born 17 April 1962
    assert person["is_fragile"] and person["fragility_flags"] == ["disability", "invalidity_pension"]
    assert context["today_fr"] == "26 novembre 2026" and context["reference"] == "CO-42"
    assert context["links"]["unsubscribe"].endswith("/CO-42")


def test_missing_optional_fields_give_polite_defaults() -> None:
    person = person_context(SAMPLE_PEOPLE[2], as_of=date(2026, 11, 26))["person"]  # last name only
    assert (person["first_name"], person["civility_label"]) == ("", "")
    assert person["addressee"] == person["salutation"] == "Madame, Monsieur"
    assert person["email"] is None and person["is_fragile"] is False
    assert person["first_payment_date"] == date(2026, 11, 9)  # retired 1 October 2026


def test_age_counts_birthdays_and_dates_read_from_strings() -> None:
    row = {**SAMPLE_PEOPLE[1], "birth_date": "1991-11-27", "retirement_date": "2026-12-01"}
    person = person_context(row, as_of=date(2026, 11, 26))["person"]
    assert person["age"] == 34  # the day before the 35th birthday
    assert person["first_payment_date"] == date(2027, 1, 9)  # December's pension, paid in January


def test_address_is_checked_only_when_a_letter_reads_it() -> None:
    context = person_context({**SAMPLE_PEOPLE[1], "postal_code": None}, as_of=date(2026, 11, 26))
    assert context["person"]["last_name"] == "N'Diaye"  # an e-mail can still be rendered
    with pytest.raises(AddressError, match="postcode or the town is missing"):
        list(context["address_lines"])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (date(2026, 12, 1), "1er décembre 2026"),
        (date(2027, 8, 9), "9 août 2027"),
        ("2026-02-14", "14 février 2026"),
    ],
)
def test_french_dates(value: date | str, expected: str) -> None:
    assert french_date(value) == expected


def test_css_is_inlined_into_template_source_without_touching_jinja() -> None:
    source = (
        "{% extends 'mail/_layout.html' %}{% block content %}<table><tr><td>\n{% for x in items %}\n"
        '<p class="note">{{ x }} &amp; {{ person.first_name }}</p>{% endfor %}\n'
        '<a href="{{ track(fund.national_site) }}">lien</a></td></tr></table>{% endblock %}'
    )
    inlined = inline_template_source(
        source, "p { margin: 0; } .note { color: #1A1A1A; } a { color: #0B3D91; }"
    )
    assert (
        '<p class="note" style="margin: 0;color: #1A1A1A;">{{ x }} &amp; {{ person.first_name }}</p>'
        in inlined
    )
    assert '<a href="{{ track(fund.national_site) }}" style="color: #0B3D91;">lien</a>' in inlined
    assert inlined.index("{% for x in items %}") < inlined.index("<p") < inlined.index("{% endfor %}")
    assert inlined.startswith("{% extends 'mail/_layout.html' %}{% block content %}<table>")


@pytest.mark.parametrize(
    ("civility", "first_name", "last_name", "expected"),
    [
        (
            "Mme",
            "Marie",
            "Lefèvre",
            (
                "Bonjour Madame Lefèvre,",
                ", Madame Lefèvre",
                "Bonjour Mme Lefèvre,",
                ", Mme Lefèvre",
                "Madame",
            ),
        ),
        (
            "M",
            "",
            "N'Diaye",
            (
                "Bonjour Monsieur N'Diaye,",
                ", Monsieur N'Diaye",
                "Bonjour M. N'Diaye,",
                ", M. N'Diaye",
                "Monsieur",
            ),
        ),
        (
            None,
            "Marie",
            "Lefèvre",
            (
                "Bonjour Marie Lefèvre,",
                ", Marie Lefèvre",
                "Bonjour Marie Lefèvre,",
                ", Marie Lefèvre",
                "Madame, Monsieur",
            ),
        ),
        (None, "", "Lefèvre", ("Bonjour,", "", "Bonjour,", "", "Madame, Monsieur")),
        ("Mme", "", "", ("Bonjour Madame,", ", Madame", "Bonjour Madame,", ", Madame", "Madame")),
        (
            "Mme",
            "Marie-Françoise-Anaïs",
            "de La Rochefoucauld-Doudeauville",
            (
                "Bonjour Madame de La Rochefoucauld-Doudeauville,",
                ", Madame de La Rochefoucauld-Doudeauville",
                "Bonjour Madame,",  # a name too long for one SMS part: the civility alone
                ", Madame",
                "Madame",
            ),
        ),
    ],
)
def test_salutation_rules(
    civility: str | None, first_name: str, last_name: str, expected: tuple[str, ...]
) -> None:
    """Every way of addressing a person, for each thing we may know about them: never "Madame,
    Monsieur" inside a sentence, always the comma before the name."""
    row = {**SAMPLE_PEOPLE[0], "civility": civility, "first_name": first_name, "last_name": last_name}
    person = person_context(row, as_of=date(2026, 11, 26))["person"]
    keys = ("greeting", "vocative", "sms_greeting", "sms_vocative", "salutation")
    assert tuple(person[key] for key in keys) == expected
