"""The recipient block of a letter, laid out to the French postal standard (AFNOR NF Z10-011).

At most 6 lines of at most 38 characters, in this order, empty lines left out:
1 recipient, 2 delivery point (flat, floor, "chez"), 3 building, 4 number and street,
5 lieu-dit or BP, 6 postcode and town (or CEDEX); a 7th-line country is not used (the fund writes to
its territory; a foreign country takes the place of a missing line and the 6-line limit still holds).

Sorting machines read the lower lines: from line 4 on there is no punctuation, and the last line is
in capitals. We write lines 2 to 6 the way La Poste's address normalisation does (capitals, no accents)
and keep the person's name on line 1 as they spell it. A line that is too long is shortened with the
standard abbreviations, the mildest first; what still does not fit is refused with an `AddressError`
rather than cut, because a cut address reaches the wrong door.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from outreach.rendering.errors import AddressError

MAX_LINES = 6
MAX_CHARS = 38

# Street types (abbreviated first), then titles and common words, from La Poste's abbreviation list.
STREET_TYPES = {
    "ALLEE": "ALL",
    "AVENUE": "AV",
    "BOULEVARD": "BD",
    "CARREFOUR": "CAR",
    "CHAUSSEE": "CHS",
    "CHEMIN": "CHE",
    "CORNICHE": "COR",
    "COURS": "CRS",
    "DOMAINE": "DOM",
    "ESPLANADE": "ESP",
    "FAUBOURG": "FG",
    "HAMEAU": "HAM",
    "IMPASSE": "IMP",
    "LIEU DIT": "LD",
    "LOTISSEMENT": "LOT",
    "MONTEE": "MTE",
    "PASSAGE": "PAS",
    "PLACE": "PL",
    "PROMENADE": "PRO",
    "QUARTIER": "QUA",
    "RESIDENCE": "RES",
    "ROUTE": "RTE",
    "SENTIER": "SEN",
    "SQUARE": "SQ",
    "TRAVERSE": "TRA",
    "VILLAGE": "VLGE",
}
TITLES = {
    "SAINT": "ST",
    "SAINTE": "STE",
    "GENERAL": "GAL",
    "MARECHAL": "MAL",
    "PRESIDENT": "PDT",
    "DOCTEUR": "DR",
    "PROFESSEUR": "PR",
    "COMMANDANT": "CDT",
    "CAPITAINE": "CNE",
    "LIEUTENANT": "LT",
    "COLONEL": "COL",
    "NOTRE DAME": "ND",
    "GRANDE": "GDE",
    "GRAND": "GD",
}
DELIVERY_POINT = {
    "APPARTEMENT": "APP",
    "BATIMENT": "BAT",
    "ESCALIER": "ESC",
    "ETAGE": "ETG",
    "IMMEUBLE": "IMM",
    "RESIDENCE": "RES",
    "ENTREE": "ENT",
}
CIVILITY = {"Mme": ("Madame", "Mme"), "M": ("Monsieur", "M.")}
FRANCE = {"", "FRANCE", "FR", "FRA"}

_NOT_WORD = re.compile(r"[^0-9A-Z ]+")
_SPACES = re.compile(r"\s+")


def _plain_upper(text: str) -> str:
    """Capitals without accents: "l'Église" -> "L'EGLISE" (œ -> OE, ß -> SS)."""
    text = text.replace("œ", "oe").replace("Œ", "OE").replace("æ", "ae").replace("Æ", "AE")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).upper()


def _collapse(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def _no_punctuation(text: str) -> str:
    """Lines 4-6: every punctuation mark becomes a space ("L'ISLE-JOURDAIN" -> "L ISLE JOURDAIN")."""
    return _collapse(_NOT_WORD.sub(" ", _plain_upper(text)))


def _abbreviate(line: str, table: Mapping[str, str]) -> str:
    for word, short in table.items():
        line = re.sub(rf"\b{word}\b", short, line)
    return line


def _fit(line: str, tables: Sequence[Mapping[str, str]]) -> str | None:
    """`line` as is if it fits, else with each abbreviation table applied in turn; None if it never fits."""
    for table in (None, *tables):
        if table is not None:
            line = _abbreviate(line, table)
        if len(line) <= MAX_CHARS:
            return line
    return None


def _initials(first_name: str) -> str:
    """ "Marie-Thérèse" -> "M.-T.", "Jean Paul" -> "J. P." """
    return " ".join(
        "-".join(f"{part[0]}." for part in word.split("-") if part) for word in first_name.split()
    )


def recipient_line(civility: str | None, first_name: str | None, last_name: str) -> str | None:
    """Line 1, the longest form that fits: full civility, then short civility, initials, no first name."""
    long_civ, short_civ = CIVILITY.get(civility or "", ("", ""))
    first = _collapse(first_name or "")
    last = _collapse(last_name)
    candidates = [
        (long_civ, first, last),
        (short_civ, first, last),
        (short_civ, _initials(first), last),
        (short_civ, "", last),
        ("", "", last),
    ]
    for parts in candidates:
        line = " ".join(p for p in parts if p)
        if len(line) <= MAX_CHARS:
            return line
    return None


def address_lines(person: Mapping[str, Any]) -> tuple[str, ...]:
    """The recipient block of `person` (keys = `people` columns), or `AddressError` naming the problem."""
    person_id = str(person.get("person_id") or "?")
    last_name = person.get("last_name") or ""
    if not last_name.strip():
        raise AddressError(person_id, "no last name to address the letter to")
    recipient = recipient_line(person.get("civility"), person.get("first_name"), last_name)
    if recipient is None:
        raise AddressError(person_id, f"the name is longer than {MAX_CHARS} characters")

    lines = [recipient]
    for column, tables in (
        ("address_complement", (DELIVERY_POINT,)),
        ("address_building", (DELIVERY_POINT, STREET_TYPES)),
    ):
        value = _collapse(_plain_upper(person.get(column) or ""))
        if value:
            fitted = _fit(value, tables)
            if fitted is None:
                raise AddressError(
                    person_id, f"{column} ({len(value)} characters) does not fit in {MAX_CHARS} characters"
                )
            lines.append(fitted)
    for column, tables in (
        ("address_street", (STREET_TYPES, TITLES)),
        ("address_locality", (STREET_TYPES, TITLES)),
    ):
        value = _no_punctuation(person.get(column) or "")
        if value:
            fitted = _fit(value, tables)
            if fitted is None:
                raise AddressError(
                    person_id, f"{column} ({len(value)} characters) does not fit in {MAX_CHARS} characters"
                )
            lines.append(fitted)
    if not (person.get("address_street") or person.get("address_locality") or "").strip():
        raise AddressError(person_id, "no street and no lieu-dit: the address is incomplete")

    postal_code = _collapse(person.get("postal_code") or "")
    city = _no_punctuation(person.get("city") or "")
    country = _no_punctuation(person.get("country") or "")
    abroad = country not in FRANCE
    if not city or not postal_code:
        raise AddressError(person_id, "the postcode or the town is missing")
    if not abroad and not re.fullmatch(r"\d{5}", postal_code):
        raise AddressError(person_id, "the postcode is not 5 digits")
    last = _fit(f"{postal_code} {city}", (TITLES,))
    if last is None:
        raise AddressError(person_id, f"the postcode and town line does not fit in {MAX_CHARS} characters")
    lines.append(last)
    if abroad:
        lines.append(country[:MAX_CHARS])
    if len(lines) > MAX_LINES:
        raise AddressError(
            person_id, f"the address needs {len(lines)} lines, the standard allows {MAX_LINES}"
        )
    return tuple(lines)


class AddressLines(Sequence[str]):
    """The recipient block, computed on first use: an e-mail never pays for (or fails on) an address."""

    __slots__ = ("_lines", "_person")

    def __init__(self, person: Mapping[str, Any]) -> None:
        self._person = person
        self._lines: tuple[str, ...] | None = None

    def _get(self) -> tuple[str, ...]:
        if self._lines is None:
            self._lines = address_lines(self._person)
        return self._lines

    def __getitem__(self, index):  # type: ignore[no-untyped-def]
        return self._get()[index]

    def __len__(self) -> int:
        return len(self._get())

    def __repr__(self) -> str:
        return f"AddressLines({self._get()!r})"
