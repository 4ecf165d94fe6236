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


NARROW_NO_BREAK_SPACE = "\u202f"
_BREAKING_SPACES = re.compile(r"[ \t\n\r\f\v]+")


def one_line(text: str) -> str:
    """`text` on one line with single spaces, keeping no-break spaces (U+00A0, U+202F): `str.split()`
    takes them for ordinary blanks and would let "?" fall alone at the start of a line."""
    return _BREAKING_SPACES.sub(" ", text).strip()


_TEMPLATE_CODE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}|<[^>]*>", re.DOTALL)
_SPACED_SIGN = re.compile(r"(?<=\S)[ \u00a0][;:?!]|«[ \u00a0]|[ \u00a0]»")
_STRAIGHT_APOSTROPHE = re.compile(r"[A-Za-zÀ-ÿ]+'[A-Za-zÀ-ÿ]+")


def typography_problems(source: str, *, spaces: bool = True) -> list[tuple[int, str]]:
    """(line, what to fix) for the written text of a template (its Jinja code and tags left aside).

    E-mails (both parts, subject included) and letters use the typographic apostrophe (l’équipe);
    when `spaces`, the signs ; : ? ! and the inner side of « » take a narrow no-break space
    (U+202F), which keeps them on the line of their word. SMS keep ' and plain spaces: neither
    ’ nor U+202F is GSM-7.
    """
    text = _TEMPLATE_CODE.sub(lambda m: re.sub(r"[^\n]", "\x01", m.group()), source)
    found = [
        (
            text.count("\n", 0, m.start()) + 1,
            f"write ’ for the apostrophe in '{m.group()}'",
        )
        for m in _STRAIGHT_APOSTROPHE.finditer(text)
    ]
    if spaces:
        found += [
            (
                text.count("\n", 0, m.start()) + 1,
                f"use a narrow no-break space (U+202F) in '{m.group().strip()}': "
                f"'{source[max(m.start() - 8, 0) : m.end()]}'",
            )
            for m in _SPACED_SIGN.finditer(text)
        ]
    return sorted(found)


HOUSE_WORDS = {"courriel": "e-mail", "courriels": "e-mails", "email": "e-mail", "emails": "e-mails"}
"""One word for one thing: the fund writes "e-mail" (and "courrier" for a postal letter)."""


def off_style_words(text: str) -> list[tuple[str, str]]:
    """The words of `text` the fund spells otherwise ("courriel" -> "e-mail"), in order."""
    return [
        (match.group(), HOUSE_WORDS[match.group().lower()])
        for match in _WORD.finditer(text)
        if match.group().lower() in HOUSE_WORDS
    ]
