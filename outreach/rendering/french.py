"""French as people read it: dates ("le 1er décembre 2026", never "01/12/2026" in a letter), and the
common words a message must never send without their accents ("recu" for "reçu")."""

from __future__ import annotations

import re
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


UNACCENTED = {
    "recu": "reçu",
    "recue": "reçue",
    "recus": "reçus",
    "recues": "reçues",
    "etre": "être",
    "peut-etre": "peut-être",
    "deja": "déjà",
    "ete": "été",
    "interesse": "intéressé",
    "interessee": "intéressée",
    "reclamation": "réclamation",
    "reclamations": "réclamations",
    "demarche": "démarche",
    "demarches": "démarches",
    "telephone": "téléphone",
    "numero": "numéro",
    "prevu": "prévu",
    "releve": "relevé",
    "carriere": "carrière",
    "reversion": "réversion",
    "condoleances": "condoléances",
    "age": "âge",
    "tres": "très",
    "apres": "après",
    "deces": "décès",
    "fenetre": "fenêtre",
    "agreer": "agréer",
}
"""Common words of our messages as they come out when accents are stripped (by hand, or by SMS
transliteration of ê, â, ç): each is a misspelling in French, to be reworded, never sent."""

_WORD = re.compile(r"[A-Za-zÀ-ÿ]+(?:-[A-Za-zÀ-ÿ]+)*")


def unaccented_words(text: str) -> list[tuple[str, str]]:
    """The words of `text` written without their accents, with their right spelling, in order.

    "Nous avons bien recu votre demande" -> [("recu", "reçu")]. Compound words are read whole and
    by part, so "peut-etre" is found as such.
    """
    found: list[tuple[str, str]] = []
    for match in _WORD.finditer(text):
        word = match.group()
        for candidate in (word, *word.split("-")) if "-" in word else (word,):
            right = UNACCENTED.get(candidate.lower())
            if right:
                found.append((candidate, right))
                break
    return found
