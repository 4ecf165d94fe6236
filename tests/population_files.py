"""Builders of extract files for tests: realistic French rows, one dict per person."""

from __future__ import annotations

import csv
from pathlib import Path

from outreach.population.columns import CSV_COLUMNS


def person_row(person_id: str, **values: str) -> dict[str, str]:
    """A complete, valid row for an active salaried person in Poitiers; override any column."""
    row = {
        "person_id": person_id,
        "civility": "Mme",
        "first_name": "Élodie",
        "last_name": "Moreau",
        "birth_date": "1980-04-12",
        "status": "active",
        "worker_type": "salaried",
        "email": "elodie.moreau@orange.example.net",
        "mobile_phone": "06 12 34 56 78",
        "address_complement": "Appartement 12",
        "address_building": "Résidence Les Tilleuls",
        "address_street": "3 rue de l'Église",
        "address_locality": "",
        "postal_code": "86000",
        "city": "Poitiers",
        "country": "France",
        "retirement_date": "",
        "spouse_death_date": "",
        "receives_survivor_pension": "false",
        "digital_profile": "technophile",
        "fragility_flags": "",
        "preferred_channel": "",
        "opt_out_channels": "",
        "legal_representative": "",
    }
    unknown = set(values) - set(row)
    assert not unknown, f"not extract columns: {unknown}"
    row.update(values)
    return row


def write_extract(
    path: Path, rows: list[dict[str, str]], columns: tuple[str, ...] = CSV_COLUMNS, delimiter: str = ","
) -> Path:
    """Write `rows` as an extract file with `columns` as the header."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([row.get(c, "") for c in columns])
    return path
