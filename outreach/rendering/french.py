"""French dates as people read them: "le 1er décembre 2026", never "01/12/2026" in a letter."""

from __future__ import annotations

from datetime import date

MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


def french_date(value: date | str | None) -> str:
    """`date(2026, 12, 1)` -> "1er décembre 2026" (the first of the month is written "1er")."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value)
    day = "1er" if value.day == 1 else str(value.day)
    return f"{day} {MONTHS[value.month - 1]} {value.year}"


def french_month(value: date | str) -> str:
    """`date(2026, 12, 9)` -> "décembre 2026" (for "votre retraite de décembre 2026")."""
    if isinstance(value, str):
        value = date.fromisoformat(value)
    return f"{MONTHS[value.month - 1]} {value.year}"
