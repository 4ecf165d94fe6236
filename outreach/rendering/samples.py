"""Built-in synthetic people for previews, lint, tests and the benchmark: realistic, and hard on purpose.

They carry what real extracts carry and templates get wrong: long compound names with particles,
accents and a cedilla (which force UCS-2 in an SMS), an apostrophe in the street, a missing first name
and civility, empty optional fields, a "chez" line and a lieu-dit. None of them is a real person.
"""

from __future__ import annotations

from datetime import date
from typing import Any

SAMPLE_EXTRA: dict[str, Any] = {
    "complaint_reference": "REC-2026-0004817",
    "complaint_opened_on": date(2026, 11, 3),
    "complaint_received_by": "dans un espace France Services",
    "complaint_closed_on": date(2026, 11, 24),
}
"""Values for `extra` fields (see `context.EXTRA_FIELDS`), as a campaign step would pass them."""

SAMPLE_AS_OF = date(2026, 11, 26)

SAMPLE_PEOPLE: tuple[dict[str, Any], ...] = (
    {
        "person_id": "SAMPLE-0001",
        "civility": "Mme",
        "first_name": "Marie-Thérèse",
        "last_name": "de La Rochefoucauld-Lévis",
        "birth_date": date(1962, 4, 17),
        "status": "active",
        "worker_type": "salaried",
        "email": "mt.delarochefoucauld@example.org",
        "mobile_phone": "+33612345678",
        "address_complement": "Chez M. et Mme Lefèvre-Duplessis",
        "address_building": "Résidence Les Jardins de l'Abbaye, bât. C",
        "address_street": "3 rue de l'Église",
        "address_locality": "Lieu-dit La Croix-Blanche",
        "postal_code": "86000",
        "city": "Poitiers",
        "country": "France",
        "retirement_date": None,
        "spouse_death_date": None,
        "receives_survivor_pension": False,
        "digital_profile": "non_technophile",
        "fragility_flags": "disability;invalidity_pension",
        "preferred_channel": "letter",
    },
    {
        "person_id": "SAMPLE-0002",
        "civility": "M",
        "first_name": "Jean-Baptiste",
        "last_name": "N'Diaye",
        "birth_date": date(1991, 2, 8),
        "status": "active",
        "worker_type": "self_employed",
        "email": "jb.ndiaye@example.net",
        "mobile_phone": "+33698765432",
        "address_complement": None,
        "address_building": None,
        "address_street": "12 avenue du Président Wilson",
        "address_locality": None,
        "postal_code": "16000",
        "city": "Angoulême",
        "country": None,
        "retirement_date": None,
        "spouse_death_date": None,
        "receives_survivor_pension": False,
        "digital_profile": "technophile",
        "fragility_flags": "",
        "preferred_channel": "email",
    },
    {
        "person_id": "SAMPLE-0003",
        "civility": None,
        "first_name": None,
        "last_name": "Lefèvre",
        "birth_date": date(1960, 12, 1),
        "status": "retired",
        "worker_type": None,
        "email": None,
        "mobile_phone": None,
        "address_complement": None,
        "address_building": None,
        "address_street": None,
        "address_locality": "Le Bourg",
        "postal_code": "23200",
        "city": "Aubusson",
        "country": None,
        "retirement_date": date(2026, 10, 1),
        "spouse_death_date": None,
        "receives_survivor_pension": False,
        "digital_profile": None,
        "fragility_flags": "",
        "preferred_channel": None,
    },
    {
        "person_id": "SAMPLE-0004",
        "civility": "Mme",
        "first_name": "Françoise",
        "last_name": "Châteauneuf-Rivière",
        "birth_date": date(1955, 7, 22),
        "status": "retired",
        "worker_type": "salaried",
        "email": "francoise.chateauneuf@example.fr",
        "mobile_phone": "+33771234567",
        "address_complement": "Appartement 12, 3e étage",
        "address_building": None,
        "address_street": "27 boulevard du Maréchal de Lattre de Tassigny",
        "address_locality": None,
        "postal_code": "79400",
        "city": "Saint-Maixent-l'École",
        "country": "France",
        "retirement_date": date(2020, 8, 1),
        "spouse_death_date": date(2026, 9, 12),
        "receives_survivor_pension": False,
        "digital_profile": "non_technophile",
        "fragility_flags": "financial_difficulty",
        "preferred_channel": "sms",
    },
)

LONGEST_PERSON: dict[str, Any] = {
    **SAMPLE_PEOPLE[0],
    "person_id": "SAMPLE-LONGEST",
    "first_name": "Marie-Françoise-Anaïs",
    "last_name": "de La Rochefoucauld-Doudeauville",
}
"""The longest plausible values, with characters that force UCS-2: the lint checks SMS lengths on it."""

LONGEST_SMS_NAME_PERSON: dict[str, Any] = {
    **SAMPLE_PEOPLE[1],
    "person_id": "SAMPLE-SMS-NAME",
    "first_name": "Jean-François",
    "last_name": "Saint-Hilaire-Lévêque",
    "status": "retired",
    "retirement_date": date(2026, 11, 1),
}
"""The longest name an SMS still greets by ("M. Saint-Hilaire-Lévêque", `context.SMS_NAME_LIMIT`),
newly retired so that the welcome SMS gives its first payment date: the SMS worst case in the lint."""

WORST_CASE_PEOPLE: tuple[dict[str, Any], ...] = (*SAMPLE_PEOPLE, LONGEST_PERSON, LONGEST_SMS_NAME_PERSON)
"""Everyone the lint renders every message for: the samples and the two longest names."""
