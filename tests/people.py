"""Realistic synthetic people for database tests: complete `people` rows with Python values."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import Engine

from outreach.population.columns import PERSON_FIELDS
from outreach.population.store import add_opt_outs, upsert_people

NAMES = [
    ("Mme", "Camille", "Lefèvre"),
    ("M", "Jean-Pierre", "Moreau"),
    ("Mme", "Nathalie", "Girard"),
    ("M", "Thierry", "Rousseau"),
    ("Mme", "Marie-Thérèse", "de La Rochefoucauld-Lévis"),
    ("M", "Kévin", "N'Diaye"),
]


def person(index: int, birth: date, **overrides: Any) -> dict[str, Any]:
    """Person `index`: active, salaried, in Poitiers, reachable by e-mail, SMS and letter."""
    civility, first, last = NAMES[index % len(NAMES)]
    row: dict[str, Any] = dict.fromkeys(PERSON_FIELDS)
    row.update(
        person_id=f"P{index:05d}",
        civility=civility,
        first_name=first,
        last_name=last,
        birth_date=birth,
        status="active",
        worker_type="salaried",
        email=f"assure.{index:05d}@orange.example.net",
        mobile_phone=f"+33612{index:06d}",
        address_street="3 rue de l'Église",
        postal_code="86000",
        city="Poitiers",
        country="FRANCE",
        receives_survivor_pension=False,
        digital_profile="technophile",
        fragility_flags="",
    )
    row.update(overrides)
    return row


def load(engine: Engine, people: Iterable[dict[str, Any]], opt_outs: Iterable[tuple[str, str]] = ()) -> None:
    """Write people (and opt-outs as (person_id, channel)) in one transaction."""
    with engine.begin() as connection:
        upsert_people(connection, list(people))
        add_opt_outs(connection, [{"person_id": p, "channel": c, "source": "import"} for p, c in opt_outs])
